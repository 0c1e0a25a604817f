from __future__ import annotations

from functools import cache
from typing import Any
from uuid import UUID

from features.ordering.orders_sql import ORDER_COLUMNS
from shared.db import Tx
from shared.http.pagination import PageQuery


@cache
def statement(mine: bool, by_status: bool, after: bool) -> str:
    """One statement per shape (each a plan of its own, keyset on the UUIDv7 id, newest first)
    rather than `(%s IS NULL OR ...)`, which a generic plan cannot turn into an index range.
    orders_user / orders_user_status / orders_status / the pkey serve the four filters."""
    where = [clause for clause, wanted in (("o.user_id = %(user_id)s", mine),
                                           ("o.status = %(status)s", by_status),
                                           ("o.id < %(after)s", after)) if wanted]
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    return (f"SELECT {ORDER_COLUMNS} FROM ordering.orders o {condition} "
            "ORDER BY o.id DESC LIMIT %(fetch)s")


async def list_orders(conn: Tx, page: PageQuery, user_id: UUID | None,
                      status: str | None) -> list[dict[str, Any]]:
    """`user_id` None lists everyone's orders (an admin's view)."""
    query = statement(user_id is not None, status is not None, page.after is not None)
    cur = await conn.execute(query, {"user_id": user_id, "status": status,
                                     "after": page.after, "fetch": page.fetch})
    return await cur.fetchall()
