from __future__ import annotations

from uuid import UUID

from shared.db import Tx

# Only the caller's own family: a token of someone else's is silently ignored.
REVOKE_OWN_FAMILY = """
UPDATE identity.refresh_tokens SET revoked_at = now()
WHERE revoked_at IS NULL AND family_id = (
    SELECT family_id FROM identity.refresh_tokens WHERE token_hash = %s AND user_id = %s)"""


async def revoke_own_family(tx: Tx, token_hash: bytes, user_id: UUID) -> int:
    cur = await tx.execute(REVOKE_OWN_FAMILY, (token_hash, user_id))
    return cur.rowcount
