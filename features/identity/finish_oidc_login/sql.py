from __future__ import annotations

from typing import Any

from shared.db import Tx

# Single use and bound to the browser in one statement: of two callbacks with one state, one
# deletes the row and the other finds nothing; a browser without the cookie finds nothing.
TAKE_STATE = """
DELETE FROM identity.oidc_states
WHERE state_hash = %s AND browser_hash = %s AND provider = %s AND expires_at > now()
RETURNING redirect_uri, nonce, code_verifier"""

FIND_LINKED = """
SELECT u.id, u.role FROM identity.oidc_identities AS i JOIN identity.users AS u
ON u.id = i.user_id WHERE i.provider = %s AND i.subject = %s"""

FIND_BY_EMAIL = """
SELECT id, role, password_hash IS NOT NULL AS has_password FROM identity.users
WHERE lower(email) = lower(%s) FOR UPDATE"""

INSERT_USER = """
INSERT INTO identity.users (id, email, name, role, password_hash)
VALUES (%s, %s, %s, 'customer', NULL) RETURNING id, role"""

LINK = """
INSERT INTO identity.oidc_identities (provider, subject, user_id, email) VALUES (%s, %s, %s, %s)"""


async def take_state(tx: Tx, state_hash: bytes, browser_hash: bytes,
                     provider: str) -> dict[str, Any] | None:
    cur = await tx.execute(TAKE_STATE, (state_hash, browser_hash, provider))
    return await cur.fetchone()


async def find_linked(tx: Tx, provider: str, subject: str) -> dict[str, Any] | None:
    cur = await tx.execute(FIND_LINKED, (provider, subject))
    return await cur.fetchone()


async def find_by_email(tx: Tx, email: str) -> dict[str, Any] | None:
    cur = await tx.execute(FIND_BY_EMAIL, (email,))
    return await cur.fetchone()


async def insert_user(tx: Tx, user_id: Any, email: str, name: str) -> dict[str, Any]:
    """Raises UniqueViolation when another sign-in or a registration took the e-mail."""
    cur = await tx.execute(INSERT_USER, (user_id, email, name))
    row = await cur.fetchone()
    assert row is not None
    return row


async def link(tx: Tx, provider: str, subject: str, user_id: Any, email: str | None) -> None:
    """Raises UniqueViolation when a concurrent sign-in of the same subject linked it first."""
    await tx.execute(LINK, (provider, subject, user_id, email))
