from __future__ import annotations

from uuid import UUID

from shared.db import Tx

RELEASE = """
WITH released AS (
    UPDATE inventory.reservations SET status = 'released', released_at = now()
    WHERE order_id = %(order_id)s AND status = 'reserved'
    RETURNING order_id
)
UPDATE inventory.stock_levels s
SET reserved = s.reserved - l.quantity, updated_at = now()
FROM released JOIN inventory.reservation_lines l ON l.order_id = released.order_id
WHERE s.product_id = l.product_id"""

# The cancellation came before the order: remember it, so the OrderPlaced that follows
# reserves nothing.
TOMBSTONE = """
INSERT INTO inventory.reservations (order_id, status, created_at, released_at)
VALUES (%s, 'released', now(), now())"""


async def release(tx: Tx, order_id: UUID) -> None:
    await tx.execute(RELEASE, {"order_id": order_id})


async def tombstone(tx: Tx, order_id: UUID) -> None:
    await tx.execute(TOMBSTONE, (order_id,))
