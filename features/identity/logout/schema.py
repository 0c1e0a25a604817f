from __future__ import annotations

from features.identity.refresh_token.schema import RefreshRequest as LogoutRequest

__all__ = ["LogoutRequest"]
