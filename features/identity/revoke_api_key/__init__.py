"""revoke_api_key: DELETE /v1/api-keys/{key_id}."""
