"""finish_oidc_login: GET /v1/auth/oidc/{provider}/callback."""
