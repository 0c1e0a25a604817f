from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from shared.db import Tx

# A product already tracked (a redelivery, or the same id twice in one batch) is left as it
# is. The rows are inserted, and so locked, in product id order.
INSERT_STOCK_LEVELS = """
INSERT INTO inventory.stock_levels (product_id)
SELECT p.product_id FROM unnest(%s::uuid[]) AS p(product_id)
ORDER BY p.product_id
ON CONFLICT (product_id) DO NOTHING"""


async def insert_stock_levels(tx: Tx, product_ids: Iterable[UUID]) -> None:
    await tx.execute(INSERT_STOCK_LEVELS, (sorted(set(product_ids)),))
