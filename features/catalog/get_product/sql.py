from __future__ import annotations

from typing import Any
from uuid import UUID

from features.catalog.schema import PRODUCT_COLUMNS
from shared.db import Tx

GET_PRODUCT = f"SELECT {PRODUCT_COLUMNS} FROM catalog.products WHERE id = %s"


async def get_product(conn: Tx, product_id: UUID) -> dict[str, Any] | None:
    cur = await conn.execute(GET_PRODUCT, (product_id,))
    return await cur.fetchone()
