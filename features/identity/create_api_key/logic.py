"""Rules for a new API key: pure, no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.auth.principal import ROLES, Principal
from shared.http.problems import Problem, invalid

# A key meant to expire must live long enough to be used; a minute keeps clock skew harmless.
MIN_LIFETIME = timedelta(minutes=1)


def key_role(principal: Principal, requested: str | None) -> str:
    """The role the key gets: the caller's unless a lower one is asked for (403 above it)."""
    if principal.api_key_id is not None:
        # A leaked key must not be able to mint keys that outlive its revocation.
        raise Problem(403, "An API key cannot create API keys; use an access token.")
    role = requested or principal.role
    if ROLES.index(role) > ROLES.index(principal.role):
        raise Problem(403, f"A key cannot have a role above yours ({principal.role}).")
    return role


def key_name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise invalid("name must contain a non-space character.", pointer="#/name")
    return clean


def check_expiry(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is not None and expires_at < now + MIN_LIFETIME:
        # Well-formed, but a key that is dead on arrival breaks a rule: 422, as API.md has it.
        detail = "expires_at must be at least a minute in the future."
        raise Problem(422, detail, title="Unprocessable Content",
                      errors=[{"pointer": "#/expires_at", "detail": detail}])
