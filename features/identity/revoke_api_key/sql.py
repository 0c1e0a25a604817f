from __future__ import annotations

from uuid import UUID

from shared.db import Tx

# Only the owner's, only once: a second revocation finds no live row (404), as does anyone
# else's attempt, so the caller learns nothing about keys that are not theirs.
REVOKE = """
UPDATE identity.api_keys SET revoked_at = now()
WHERE id = %s AND user_id = %s AND revoked_at IS NULL
RETURNING id"""


async def revoke(tx: Tx, key_id: UUID, user_id: UUID) -> bool:
    cur = await tx.execute(REVOKE, (key_id, user_id))
    return await cur.fetchone() is not None
