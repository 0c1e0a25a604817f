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
    if await orders_sql.transition(tx, event.order_id, "pay") is None:
        log.info("payment_succeeded_ignored", order_id=str(event.order_id),
                 payment_id=str(event.payment_id), reason="the order is not confirmed")


# One guarded update, nothing published: it may share a transaction.
subscription = Subscription(event_type="PaymentSucceeded", name="ordering.mark_paid",
                            payload_type=PaymentSucceeded, handler=mark_paid,
                            shares_transaction=True)
