"""create_api_key: POST /v1/api-keys."""
