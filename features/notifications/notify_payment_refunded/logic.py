from __future__ import annotations

from uuid import UUID

from features.notifications.money import format_amount
from features.notifications.schema import Message


def payment_refunded(order_id: UUID, payment_id: UUID, amount_cents: int,
                     currency: str) -> Message:
    return Message(
        subject="Payment refunded",
        body=(f"We refunded {format_amount(amount_cents, currency)} for order {order_id}"
              f" (payment {payment_id}). Your bank may take a few days to show it.\n\n"
              "The Rampart team"))
