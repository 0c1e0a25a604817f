"""On StockReserved (from inventory): a pending order becomes confirmed; publish
OrderConfirmed (payments may now charge it).

An order cancelled meanwhile stays cancelled and nothing is published: its OrderCancelled
already went to inventory, whose release handler frees this very reservation whichever of the
two it sees first. A redelivery finds the order confirmed already and does nothing.
"""

from __future__ import annotations

from uuid import UUID

import msgspec
import structlog

from features.ordering import orders_sql
from features.ordering.events import OrderConfirmed
from shared.db import Tx
from shared.db.events import publish
from shared.modules import Subscription

log = structlog.get_logger("rampart.ordering")


class StockReserved(msgspec.Struct, frozen=True):
    order_id: UUID


async def confirm_order(event: StockReserved, tx: Tx) -> None:
    await confirm_orders([event], tx)


async def confirm_orders(events: list[StockReserved], tx: Tx) -> None:
    """The relay's batch (Subscription.handle_many): one statement moves every pending order
    of it; each that moved publishes its OrderConfirmed. The same event twice moves once."""
    asked = {e.order_id for e in events}
    moved = await orders_sql.transition_many(tx, list(asked), "confirm")
    for order_id in asked - {row["id"] for row in moved}:
        log.info("stock_reserved_ignored", order_id=str(order_id),
                 reason="the order is no longer pending")
    for row in moved:
        await publish(tx, OrderConfirmed(order_id=row["id"], user_id=row["user_id"],
                                         total_cents=row["total_cents"],
                                         currency=row["currency"]))


subscription = Subscription(event_type="StockReserved", name="ordering.confirm_order",
                            payload_type=StockReserved, handler=confirm_order,
                            handle_many=confirm_orders)
