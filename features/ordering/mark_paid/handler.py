"""On PaymentSucceeded (from payments): a confirmed order becomes paid.

A payment that succeeds for an order cancelled meanwhile leaves the order cancelled: payments
learns of the cancellation from OrderCancelled and refunds the charge. A redelivery finds the
order paid already and does nothing.
"""

from __future__ import annotations

from uuid import UUID

import msgspec
import structlog

from features.ordering import orders_sql
from shared.db import Tx
from shared.modules import Subscription

log = structlog.get_logger("rampart.ordering")


class PaymentSucceeded(msgspec.Struct, frozen=True):
    order_id: UUID
    payment_id: UUID


async def mark_paid(event: PaymentSucceeded, tx: Tx) -> None:
    await mark_orders_paid([event], tx)


async def mark_orders_paid(events: list[PaymentSucceeded], tx: Tx) -> None:
    """The relay's batch (Subscription.handle_many): one statement moves every confirmed order
    of it. The same event twice moves its order once."""
    payments = {e.order_id: e.payment_id for e in events}
    moved = {row["id"] for row in await orders_sql.transition_many(tx, list(payments), "pay")}
    for order_id, payment_id in payments.items():
        if order_id not in moved:
            log.info("payment_succeeded_ignored", order_id=str(order_id),
                     payment_id=str(payment_id), reason="the order is not confirmed")


# One guarded update for the whole batch, nothing published: it shares its transaction with
# the claim's other sharing batches (notifications' on the same events), no other of which
# writes orders.
subscription = Subscription(event_type="PaymentSucceeded", name="ordering.mark_paid",
                            payload_type=PaymentSucceeded, handler=mark_paid,
                            handle_many=mark_orders_paid, shares_transaction=True)
