"""Token pairs, shared by login and refresh: a PASETO access token and an opaque refresh token.

A refresh token is 32 random bytes (base64url); only its SHA-256 is stored, so a database
leak does not hand out sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec
from uuid_utils.compat import uuid7

from shared.auth.principal import Principal
from shared.auth.tokens import TokenService
from shared.db import Tx


class TokenPair(msgspec.Struct, frozen=True):
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


INSERT_REFRESH_TOKEN = """
INSERT INTO identity.refresh_tokens (id, family_id, user_id, token_hash, expires_at)
VALUES (%s, %s, %s, %s, %s)"""


async def issue_pair(tx: Tx, tokens: TokenService, principal: Principal, *, ttl: int,
                     family_id: UUID | None = None) -> TokenPair:
    """Store a new refresh token (in `family_id`, or a new family) and sign an access token."""
    refresh = secrets.token_urlsafe(32)
    await tx.execute(INSERT_REFRESH_TOKEN, (
        uuid7(), family_id or uuid7(), principal.user_id, hash_refresh_token(refresh),
        datetime.now(UTC) + timedelta(seconds=ttl)))
    return TokenPair(access_token=tokens.issue(principal), token_type="Bearer",
                     expires_in=tokens.ttl, refresh_token=refresh)


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
