"""send_email: on NotificationCreated, mail the notification when SMTP_URL is set."""
