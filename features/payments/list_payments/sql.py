from __future__ import annotations

from typing import Any
from uuid import UUID

from features.payments.schema import PAYMENT_COLUMNS
from shared.db import Tx
from shared.http.pagination import PageQuery

OWNER = "SELECT user_id FROM payments.orders WHERE order_id = %s"
# Keyset on the UUIDv7 id within one order, newest first (index payments_by_order).
FIRST_PAGE = f"""SELECT {PAYMENT_COLUMNS} FROM payments.payments WHERE order_id = %s
ORDER BY id DESC LIMIT %s"""
NEXT_PAGE = f"""SELECT {PAYMENT_COLUMNS} FROM payments.payments WHERE order_id = %s AND id < %s
ORDER BY id DESC LIMIT %s"""


async def owner_of(conn: Tx, order_id: UUID) -> UUID | None:
    row = await (await conn.execute(OWNER, (order_id,))).fetchone()
    return None if row is None else row["user_id"]


async def list_payments(conn: Tx, order_id: UUID, page: PageQuery) -> list[dict[str, Any]]:
    if page.after is None:
        cur = await conn.execute(FIRST_PAGE, (order_id, page.fetch))
    else:
        cur = await conn.execute(NEXT_PAGE, (order_id, page.after, page.fetch))
    return await cur.fetchall()
