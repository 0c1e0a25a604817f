from __future__ import annotations

from uuid import UUID

from shared.db import Tx

SHIP = """
WITH shipped AS (
    UPDATE inventory.reservations SET status = 'shipped', shipped_at = now()
    WHERE order_id = %(order_id)s AND status = 'reserved'
    RETURNING order_id
)
UPDATE inventory.stock_levels s
SET on_hand = s.on_hand - l.quantity, reserved = s.reserved - l.quantity, updated_at = now()
FROM shipped JOIN inventory.reservation_lines l ON l.order_id = shipped.order_id
WHERE s.product_id = l.product_id"""


async def ship(tx: Tx, order_id: UUID) -> None:
    await tx.execute(SHIP, {"order_id": order_id})
