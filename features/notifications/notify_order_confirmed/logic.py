from __future__ import annotations

from uuid import UUID

from features.notifications.money import format_amount
from features.notifications.schema import Message


def order_confirmed(order_id: UUID, total_cents: int, currency: str) -> Message:
    return Message(
        subject="Your order is confirmed",
        body=(f"Every item of order {order_id} is reserved for you. The total is"
              f" {format_amount(total_cents, currency)}; the order ships once it is paid.\n\n"
              "The Rampart team"))
