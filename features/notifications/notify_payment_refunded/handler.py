"""On PaymentRefunded (from payments): a notification for the payer, with the amount."""

from __future__ import annotations

from features.notifications.notify_payment_refunded import logic
from features.notifications.record import record
from features.notifications.schema import Payment
from shared.db import Tx
from shared.modules import Subscription


class PaymentRefunded(Payment, frozen=True):
    pass


async def notify_payment_refunded(event: PaymentRefunded, tx: Tx) -> None:
    await record(tx, user_id=event.user_id, kind="payment_refunded", source_id=event.payment_id,
                 message=logic.payment_refunded(event.order_id, event.payment_id,
                                                event.amount_cents, event.currency))


subscription = Subscription(event_type="PaymentRefunded",
                            name="notifications.notify_payment_refunded",
                            payload_type=PaymentRefunded, handler=notify_payment_refunded,
                            shares_transaction=True)
