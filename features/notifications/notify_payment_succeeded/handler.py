"""On PaymentSucceeded (from payments): a notification for the payer, with the amount."""

from __future__ import annotations

from features.notifications.notify_payment_succeeded import logic
from features.notifications.record import Draft, record_many
from features.notifications.schema import Payment
from shared.db import Tx
from shared.modules import Subscription


class PaymentSucceeded(Payment, frozen=True):
    pass


async def notify_payment_succeeded(event: PaymentSucceeded, tx: Tx) -> None:
    await notify_payments_succeeded([event], tx)


async def notify_payments_succeeded(events: list[PaymentSucceeded], tx: Tx) -> None:
    """The relay's batch (Subscription.handle_many): every notification in one statement."""
    await record_many(tx, [Draft(
        user_id=e.user_id, kind="payment_succeeded", source_id=e.payment_id,
        message=logic.payment_succeeded(e.order_id, e.payment_id, e.amount_cents, e.currency))
        for e in events])


# New rows and their events only: it shares its transaction with the claim's other sharing
# batches (ordering's mark_paid, on the same events).
subscription = Subscription(event_type="PaymentSucceeded",
                            name="notifications.notify_payment_succeeded",
                            payload_type=PaymentSucceeded, handler=notify_payment_succeeded,
                            handle_many=notify_payments_succeeded, shares_transaction=True)
