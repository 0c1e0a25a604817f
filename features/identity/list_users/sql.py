from __future__ import annotations

from typing import Any

from features.identity.schema import USER_COLUMNS
from shared.db import Tx
from shared.http.pagination import PageQuery

# Keyset on the UUIDv7 primary key (time-ordered): newest first, served by the pkey index.
# Two statements rather than `$1 IS NULL OR id < $1`, which a generic prepared plan cannot
# turn into an index range: a deep page would scan every newer row.
FIRST_PAGE = f"SELECT {USER_COLUMNS} FROM identity.users ORDER BY id DESC LIMIT %s"
NEXT_PAGE = f"SELECT {USER_COLUMNS} FROM identity.users WHERE id < %s ORDER BY id DESC LIMIT %s"


async def list_users(conn: Tx, page: PageQuery) -> list[dict[str, Any]]:
    if page.after is None:
        cur = await conn.execute(FIRST_PAGE, (page.fetch,))
    else:
        cur = await conn.execute(NEXT_PAGE, (page.after, page.fetch))
    return await cur.fetchall()
