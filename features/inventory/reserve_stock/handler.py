"""On OrderPlaced (from ordering): reserve every line or none; publish StockReserved or
StockRejected in the same transaction.

Once per order: the reservation row is keyed by the order id, so a redelivered OrderPlaced
finds it and does nothing. If the order's OrderCancelled was handled first (it travels in
another lane), release left a `released` row behind, and this reserves nothing: the order is
cancelled at ordering already and needs no answer.

The relay hands it the OrderPlaced events of a whole claim at once (`reserve_many`): in effect
one order after the other, in five statements for all of them instead of five for each.
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
    await reserve_many([event], tx)


async def reserve_many(events: list[OrderPlaced], tx: Tx) -> None:
    """What reserve_stock does for each event in turn, in five statements for all of them
    (the relay's `handle_many`): every order's lock, then every stock row, in one global order
    (reservation_sql.lock_orders says why that cannot deadlock)."""
    orders = list({event.order_id: event for event in events}.values())  # once each
    await reservation_sql.lock_orders(tx, [order.order_id for order in orders])
    seen = await reservation_sql.reservation_statuses(tx, [order.order_id for order in orders])
    orders = [order for order in orders if order.order_id not in seen]
    if not orders:
        return  # reserved or rejected before, or cancelled first
    stock = await reservation_sql.lock_stock(
        tx, list({line.product_id for order in orders for line in order.lines}))
    decided = logic.decide(orders, stock)
    reserved = [order for order, fits in decided if fits]
    rejected = [order for order, fits in decided if not fits]
    if reserved:
        await sql.reserve(tx, [(order.order_id, line.product_id, line.quantity)
                               for order in reserved for line in order.lines])
    if rejected:
        await sql.reject(tx, [order.order_id for order in rejected])
    for order in reserved:
        await publish(tx, StockReserved(order_id=order.order_id))
    for order in rejected:
        await publish(tx, StockRejected(order_id=order.order_id,
                                        reason=logic.INSUFFICIENT_STOCK))


subscription = Subscription(event_type="OrderPlaced", name="inventory.reserve_stock",
                            payload_type=OrderPlaced, handler=reserve_stock,
                            handle_many=reserve_many)
