from __future__ import annotations

from typing import Any
from uuid import UUID

from features.identity.schema import USER_COLUMNS
from shared.db import Tx

GET_USER = f"SELECT {USER_COLUMNS} FROM identity.users WHERE id = %s"


async def get_user(conn: Tx, user_id: UUID) -> dict[str, Any] | None:
    cur = await conn.execute(GET_USER, (user_id,))
    return await cur.fetchone()
