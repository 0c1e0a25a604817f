from __future__ import annotations

from typing import Any
from uuid import UUID

from features.inventory.schema import STOCK_COLUMNS
from shared.db import Database

# ANY(%s): reads that arrive together share one statement (shared/db/batching.py).
GET_STOCK_LEVELS = (f"SELECT {STOCK_COLUMNS} FROM inventory.stock_levels"
                    " WHERE product_id = ANY(%s)")


async def get_stock_level(db: Database, product_id: UUID) -> dict[str, Any] | None:
    return await db.fetch_by_key(GET_STOCK_LEVELS, product_id, column="product_id")
