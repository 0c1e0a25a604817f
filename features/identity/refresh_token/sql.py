from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.db import Tx

# The spend is one conditional UPDATE: of two concurrent refreshes with one token, exactly one
# gets the row back; the other sees it spent and is treated as reuse.
SPEND = """
UPDATE identity.refresh_tokens AS t SET spent_at = now()
FROM identity.users AS u
WHERE t.token_hash = %s AND t.spent_at IS NULL AND t.revoked_at IS NULL
  AND t.expires_at > now() AND u.id = t.user_id
RETURNING t.family_id, u.id AS user_id, u.role"""

FIND = "SELECT family_id, spent_at, revoked_at FROM identity.refresh_tokens WHERE token_hash = %s"

REVOKE_FAMILY = """
UPDATE identity.refresh_tokens SET revoked_at = now()
WHERE family_id = %s AND revoked_at IS NULL"""


async def spend(tx: Tx, token_hash: bytes) -> dict[str, Any] | None:
    cur = await tx.execute(SPEND, (token_hash,))
    return await cur.fetchone()


async def find(tx: Tx, token_hash: bytes) -> dict[str, Any] | None:
    cur = await tx.execute(FIND, (token_hash,))
    return await cur.fetchone()


async def revoke_family(tx: Tx, family_id: UUID) -> None:
    await tx.execute(REVOKE_FAMILY, (family_id,))
