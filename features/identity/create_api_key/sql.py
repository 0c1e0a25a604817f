from __future__ import annotations

from typing import Any

from shared.db import Tx

# The owner's role is read again here, not trusted from the access token (which may be up to
# 15 minutes old): a key above the owner's current role is not inserted (no row).
INSERT_KEY = """
INSERT INTO identity.api_keys (id, user_id, name, role, prefix, key_hash, expires_at)
SELECT %(id)s, u.id, %(name)s, %(role)s, %(prefix)s, %(key_hash)s, %(expires_at)s
FROM identity.users AS u
WHERE u.id = %(user_id)s AND (%(role)s = 'customer' OR u.role = 'admin')
RETURNING id, name, role, prefix, created_at, expires_at"""


async def insert_key(tx: Tx, values: dict[str, Any]) -> dict[str, Any] | None:
    """Raises UniqueViolation when the prefix or hash is taken (a 1 in 2^48 collision)."""
    cur = await tx.execute(INSERT_KEY, values)
    return await cur.fetchone()
