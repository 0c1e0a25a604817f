from __future__ import annotations

from typing import Any
from uuid import UUID

from features.inventory.schema import STOCK_COLUMNS
from shared.db import Tx

GET_STOCK_LEVEL = f"SELECT {STOCK_COLUMNS} FROM inventory.stock_levels WHERE product_id = %s"


async def get_stock_level(conn: Tx, product_id: UUID) -> dict[str, Any] | None:
    cur = await conn.execute(GET_STOCK_LEVEL, (product_id,))
    return await cur.fetchone()
