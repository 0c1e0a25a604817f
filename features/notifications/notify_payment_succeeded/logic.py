from __future__ import annotations

from uuid import UUID

from features.notifications.money import format_amount
from features.notifications.schema import Message


def payment_succeeded(order_id: UUID, payment_id: UUID, amount_cents: int,
                      currency: str) -> Message:
    return Message(
        subject="Payment received",
        body=(f"We received your payment of {format_amount(amount_cents, currency)} for order"
              f" {order_id} (payment {payment_id}). We will tell you when it ships.\n\n"
              "The Rampart team"))
