"""On StockRejected (from inventory): a pending order becomes rejected, with inventory's
reason; publish OrderRejected. Nothing was reserved, so there is nothing to release.

A redelivery, or an order the customer cancelled meanwhile, changes nothing.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.ordering import orders_sql
from features.ordering.events import OrderRejected
from shared.db import Tx
from shared.db.events import publish
from shared.modules import Subscription


class StockRejected(msgspec.Struct, frozen=True):
    order_id: UUID
    reason: str


async def reject_order(event: StockRejected, tx: Tx) -> None:
    row = await orders_sql.transition(tx, event.order_id, "reject", reason=event.reason)
    if row is not None:
        await publish(tx, OrderRejected(order_id=row["id"], user_id=row["user_id"],
                                        reason=event.reason))


subscription = Subscription(event_type="StockRejected", name="ordering.reject_order",
                            payload_type=StockRejected, handler=reject_order,
                            shares_transaction=True)
