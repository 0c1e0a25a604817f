"""On OrderConfirmed (from ordering): a notification for the buyer, with the total."""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.notifications.notify_order_confirmed import logic
from features.notifications.record import Draft, record_many
from shared.db import Tx
from shared.modules import Subscription


class OrderConfirmed(msgspec.Struct, frozen=True):
    order_id: UUID
    user_id: UUID
    total_cents: int
    currency: str


async def notify_order_confirmed(event: OrderConfirmed, tx: Tx) -> None:
    await notify_orders_confirmed([event], tx)


async def notify_orders_confirmed(events: list[OrderConfirmed], tx: Tx) -> None:
    """The relay's batch (Subscription.handle_many): every notification in one statement."""
    await record_many(tx, [Draft(
        user_id=e.user_id, kind="order_confirmed", source_id=e.order_id,
        message=logic.order_confirmed(e.order_id, e.total_cents, e.currency)) for e in events])


# New rows and their events only: it shares its transaction with the claim's other sharing
# batches (payments' order_confirmed, on the same events).
subscription = Subscription(event_type="OrderConfirmed",
                            name="notifications.notify_order_confirmed",
                            payload_type=OrderConfirmed, handler=notify_order_confirmed,
                            handle_many=notify_orders_confirmed, shares_transaction=True)
