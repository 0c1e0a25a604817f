from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from shared.db import Tx

# The reservations of many orders, their lines and the stock they hold, in one statement: one
# (order, product, quantity) row per line. The stock rows are already locked
# (reservation_sql.lock_stock); stock is raised once per product by the sum of its lines (an
# UPDATE ... FROM changes each row once, whatever else matches); the check constraint
# stock_covers_reserved would refuse an over-reservation even if the decision were wrong.
RESERVE = """
WITH wanted AS (
    SELECT * FROM unnest(%(order_ids)s::uuid[], %(product_ids)s::uuid[],
                         %(quantities)s::bigint[]) AS w(order_id, product_id, quantity)
), reservations AS (
    INSERT INTO inventory.reservations (order_id, status, created_at)
    SELECT DISTINCT order_id, 'reserved', now() FROM wanted
), lines AS (
    INSERT INTO inventory.reservation_lines (order_id, product_id, quantity)
    SELECT order_id, product_id, quantity FROM wanted
)
UPDATE inventory.stock_levels s
SET reserved = s.reserved + taken.quantity, updated_at = now()
FROM (SELECT product_id, sum(quantity) AS quantity FROM wanted GROUP BY product_id) taken
WHERE s.product_id = taken.product_id"""

# Remembered, so that a redelivered OrderPlaced stays rejected instead of trying again.
REJECT = """
INSERT INTO inventory.reservations (order_id, status, created_at)
SELECT order_id, 'rejected', now() FROM unnest(%s::uuid[]) AS r(order_id)"""


async def reserve(tx: Tx, lines: Sequence[tuple[UUID, UUID, int]]) -> None:
    """Reserve (order id, product id, quantity) lines: every line of each order given."""
    order_ids, product_ids, quantities = (list(column) for column in zip(*lines, strict=True))
    await tx.execute(RESERVE, {"order_ids": order_ids, "product_ids": product_ids,
                               "quantities": quantities})


async def reject(tx: Tx, order_ids: Sequence[UUID]) -> None:
    await tx.execute(REJECT, (list(order_ids),))
