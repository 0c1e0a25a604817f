from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from shared.db import Tx

# The reservation, its lines and the stock it holds, in one statement. The stock rows are
# already locked (reservation_sql.lock_stock); the check constraint stock_covers_reserved
# would refuse an over-reservation even if the decision were wrong.
RESERVE = """
WITH reservation AS (
    INSERT INTO inventory.reservations (order_id, status, created_at)
    VALUES (%(order_id)s, 'reserved', now())
    RETURNING order_id
), wanted AS (
    SELECT * FROM unnest(%(product_ids)s::uuid[], %(quantities)s::bigint[])
        AS w(product_id, quantity)
), lines AS (
    INSERT INTO inventory.reservation_lines (order_id, product_id, quantity)
    SELECT reservation.order_id, wanted.product_id, wanted.quantity FROM reservation, wanted
)
UPDATE inventory.stock_levels s
SET reserved = s.reserved + wanted.quantity, updated_at = now()
FROM wanted WHERE s.product_id = wanted.product_id"""

# Remembered, so that a redelivered OrderPlaced stays rejected instead of trying again.
REJECT = """
INSERT INTO inventory.reservations (order_id, status, created_at)
VALUES (%s, 'rejected', now())"""


async def reserve(tx: Tx, order_id: UUID, product_ids: Sequence[UUID],
                  quantities: Sequence[int]) -> None:
    await tx.execute(RESERVE, {"order_id": order_id, "product_ids": list(product_ids),
                               "quantities": list(quantities)})


async def reject(tx: Tx, order_id: UUID) -> None:
    await tx.execute(REJECT, (order_id,))
