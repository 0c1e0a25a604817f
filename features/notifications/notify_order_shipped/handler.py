"""On OrderShipped (from ordering): a notification for the buyer, with the item count."""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.notifications.notify_order_shipped import logic
from features.notifications.record import record
from shared.db import Tx
from shared.modules import Subscription


class Line(msgspec.Struct, frozen=True):
    quantity: int


class OrderShipped(msgspec.Struct, frozen=True):
    order_id: UUID
    user_id: UUID
    lines: list[Line]


async def notify_order_shipped(event: OrderShipped, tx: Tx) -> None:
    await record(tx, user_id=event.user_id, kind="order_shipped", source_id=event.order_id,
                 message=logic.order_shipped(event.order_id, [ln.quantity for ln in event.lines]))


subscription = Subscription(event_type="OrderShipped", name="notifications.notify_order_shipped",
                            payload_type=OrderShipped, handler=notify_order_shipped,
                            shares_transaction=True)
