from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.db import Tx
from shared.http.pagination import PageQuery

COLUMNS = "id, name, role, prefix, created_at, last_used_at, expires_at"
# Revoked keys are gone for their owner; expired ones stay listed until revoked, so the owner
# sees why a program stopped working. Keyset on (user_id, id): the api_keys_user index.
FIRST_PAGE = f"""
SELECT {COLUMNS} FROM identity.api_keys WHERE user_id = %s AND revoked_at IS NULL
ORDER BY id DESC LIMIT %s"""
NEXT_PAGE = f"""
SELECT {COLUMNS} FROM identity.api_keys WHERE user_id = %s AND revoked_at IS NULL AND id < %s
ORDER BY id DESC LIMIT %s"""


async def list_keys(conn: Tx, user_id: UUID, page: PageQuery) -> list[dict[str, Any]]:
    if page.after is None:
        cur = await conn.execute(FIRST_PAGE, (user_id, page.fetch))
    else:
        cur = await conn.execute(NEXT_PAGE, (user_id, page.after, page.fetch))
    return await cur.fetchall()
