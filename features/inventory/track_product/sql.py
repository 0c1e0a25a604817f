from __future__ import annotations

from uuid import UUID

from shared.db import Tx

INSERT_STOCK_LEVEL = """
INSERT INTO inventory.stock_levels (product_id) VALUES (%s)
ON CONFLICT (product_id) DO NOTHING"""


async def insert_stock_level(tx: Tx, product_id: UUID) -> None:
    await tx.execute(INSERT_STOCK_LEVEL, (product_id,))
