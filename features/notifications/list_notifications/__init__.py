"""list_notifications: GET /v1/notifications (the caller's own, cursor pages)."""
