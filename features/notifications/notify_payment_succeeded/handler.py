"""On PaymentSucceeded (from payments): a notification for the payer, with the amount."""

from __future__ import annotations

from features.notifications.notify_payment_succeeded import logic
from features.notifications.record import record
from features.notifications.schema import Payment
from shared.db import Tx
from shared.modules import Subscription


class PaymentSucceeded(Payment, frozen=True):
    pass


async def notify_payment_succeeded(event: PaymentSucceeded, tx: Tx) -> None:
    await record(tx, user_id=event.user_id, kind="payment_succeeded", source_id=event.payment_id,
                 message=logic.payment_succeeded(event.order_id, event.payment_id,
                                                 event.amount_cents, event.currency))


subscription = Subscription(event_type="PaymentSucceeded",
                            name="notifications.notify_payment_succeeded",
                            payload_type=PaymentSucceeded, handler=notify_payment_succeeded,
                            shares_transaction=True)
