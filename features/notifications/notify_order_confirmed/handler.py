"""On OrderConfirmed (from ordering): a notification for the buyer, with the total."""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.notifications.notify_order_confirmed import logic
from features.notifications.record import record
from shared.db import Tx
from shared.modules import Subscription


class OrderConfirmed(msgspec.Struct, frozen=True):
    order_id: UUID
    user_id: UUID
    total_cents: int
    currency: str


async def notify_order_confirmed(event: OrderConfirmed, tx: Tx) -> None:
    await record(tx, user_id=event.user_id, kind="order_confirmed", source_id=event.order_id,
                 message=logic.order_confirmed(event.order_id, event.total_cents, event.currency))


subscription = Subscription(event_type="OrderConfirmed",
                            name="notifications.notify_order_confirmed",
                            payload_type=OrderConfirmed, handler=notify_order_confirmed,
                            shares_transaction=True)
