"""On OrderRejected (from ordering): a notification for the buyer, with the reason."""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.notifications.notify_order_rejected import logic
from features.notifications.record import record
from shared.db import Tx
from shared.modules import Subscription


class OrderRejected(msgspec.Struct, frozen=True):
    order_id: UUID
    user_id: UUID
    reason: str


async def notify_order_rejected(event: OrderRejected, tx: Tx) -> None:
    await record(tx, user_id=event.user_id, kind="order_rejected", source_id=event.order_id,
                 message=logic.order_rejected(event.order_id, event.reason))


subscription = Subscription(event_type="OrderRejected",
                            name="notifications.notify_order_rejected",
                            payload_type=OrderRejected, handler=notify_order_rejected,
                            shares_transaction=True)
