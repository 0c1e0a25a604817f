"""API keys: how a program authenticates, and how admission verifies one cheaply.

A key is `rk_` + 32 random bytes in base64url (43 characters). The database keeps its first
characters (`prefix`, shown in lists, used for the look-up) and the SHA-256 of the whole
secret; never the secret. The `ApiKeys` authenticator (registered in the module manifest,
called by the kernel's admission for every `Bearer rk_...`) remembers each answer, good or
bad, for `API_KEY_CACHE_SECONDS`, keyed by the credential as sent (as the token service
remembers verified tokens), so a key costs a dict look-up on the hot path and one indexed
statement per period per process. A revocation drops the entry in the revoking process at
once; any other process stops accepting the key within that period.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from shared.auth.principal import ROLES, Principal
from shared.auth.tokens import InvalidToken
from shared.db.pool import Database

PREFIX = "rk_"
# `rk_` and the first 8 random characters (48 bits) are kept in clear: unique in the table.
PUBLIC_LENGTH = len(PREFIX) + 8
STATE_KEY = "identity_api_keys"  # where the app state keeps this app's authenticator


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def public_prefix(secret: str) -> str:
    return secret[:PUBLIC_LENGTH]


def hash_secret(secret: str) -> bytes:
    # 256 random bits need no slow hash: there is nothing to guess from a leaked digest.
    return hashlib.sha256(secret.encode()).digest()


# The key, if it is live, and its owner's current role: a key never outranks its owner, even
# one whose owner lost a role after making it. Bumps last_used_at once per cache period.
USE_KEY = """
UPDATE identity.api_keys AS k SET last_used_at = now()
FROM identity.users AS u
WHERE k.prefix = %s AND k.key_hash = %s AND u.id = k.user_id
  AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
RETURNING k.id, k.user_id, k.role, u.role AS owner_role, k.expires_at"""


def effective_role(key_role: str, owner_role: str) -> str:
    return ROLES[min(ROLES.index(key_role), ROLES.index(owner_role))]


class ApiKeys:
    """The `rk_` authenticator of one app (shared/auth/credentials.py)."""

    prefix = PREFIX

    def __init__(self, db: Database, ttl: float, *, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 10_000) -> None:
        self.db = db
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        # credential -> (principal, or None when refused; monotonic time it is good until).
        # Hashing it for the key would cost twice the look-up (~1 us) on every request.
        self._cache: dict[str, tuple[Principal | None, float]] = {}

    async def authenticate(self, credential: str) -> Principal:
        now = self.clock()
        cached = self._cache.get(credential)
        if cached is None or cached[1] <= now:
            cached = self._remember(credential, await self._look_up(credential), now)
        if cached[0] is None:
            raise InvalidToken("unknown, revoked or expired API key")
        return cached[0]

    def forget(self, key_id: UUID) -> None:
        """Called by the revoking request, so this process refuses the key from now on.
        (A scan: revocations are rare, look-ups are not.)"""
        for credential, (principal, _) in list(self._cache.items()):
            if principal is not None and principal.api_key_id == key_id:
                del self._cache[credential]

    async def _look_up(self, credential: str) -> tuple[Principal | None, float]:
        """The principal and how long it may be trusted: the cache period, or less when the
        key expires sooner."""
        async with self.db.connection() as conn:
            cur = await conn.execute(USE_KEY, (public_prefix(credential), hash_secret(credential)))
            row: dict[str, Any] | None = await cur.fetchone()
        if row is None:
            return None, self.ttl
        principal = Principal(user_id=row["user_id"],
                              role=effective_role(row["role"], row["owner_role"]),  # type: ignore[arg-type]
                              api_key_id=row["id"])
        return principal, min(self.ttl, _seconds_left(row["expires_at"]))

    def _remember(self, credential: str, found: tuple[Principal | None, float],
                  now: float) -> tuple[Principal | None, float]:
        if len(self._cache) >= self.max_entries:
            self._cache.pop(next(iter(self._cache)))  # oldest first
        entry = (found[0], now + found[1])
        self._cache[credential] = entry
        return entry


def _seconds_left(expires_at: datetime | None) -> float:
    return float("inf") if expires_at is None else expires_at.timestamp() - time.time()


def make_authenticator(state: Any) -> ApiKeys:
    """The manifest's factory: one authenticator per app, kept in its state so the revoke
    slice can reach this process's cache."""
    keys = ApiKeys(state.db, state.settings.api_key_cache_seconds)
    state[STATE_KEY] = keys
    return keys

