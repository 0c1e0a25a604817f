"""On OrderPlaced (from ordering): reserve every line or none; publish StockReserved or
StockRejected in the same transaction.

Once per order: the reservation row is keyed by the order id, so a redelivered OrderPlaced
finds it and does nothing. If the order's OrderCancelled was handled first (it travels in
another lane), release left a `released` row behind, and this reserves nothing: the order is
cancelled at ordering already and needs no answer.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.inventory import reservation_sql
from features.inventory.events import StockRejected, StockReserved
from features.inventory.reserve_stock import logic, sql
from shared.db import Tx
from shared.db.events import publish
from shared.modules import Subscription


class Line(msgspec.Struct, frozen=True):
    product_id: UUID
    quantity: int


class OrderPlaced(msgspec.Struct, frozen=True):
    order_id: UUID
    lines: list[Line]


async def reserve_stock(event: OrderPlaced, tx: Tx) -> None:
    await reservation_sql.lock_order(tx, event.order_id)
    if await reservation_sql.reservation_status(tx, event.order_id) is not None:
        return  # reserved or rejected before, or cancelled first
    products = [line.product_id for line in event.lines]
    stock = await reservation_sql.lock_stock(tx, products)
    if logic.can_reserve(event.lines, stock):
        await sql.reserve(tx, event.order_id, products, [line.quantity for line in event.lines])
        await publish(tx, StockReserved(order_id=event.order_id))
    else:
        await sql.reject(tx, event.order_id)
        await publish(tx, StockRejected(order_id=event.order_id,
                                        reason=logic.INSUFFICIENT_STOCK))


subscription = Subscription(event_type="OrderPlaced", name="inventory.reserve_stock",
                            payload_type=OrderPlaced, handler=reserve_stock)
