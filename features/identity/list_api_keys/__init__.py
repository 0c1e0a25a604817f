"""list_api_keys: GET /v1/api-keys."""
