from __future__ import annotations

from uuid import UUID

from features.notifications.schema import Message


def order_shipped(order_id: UUID, quantities: list[int]) -> Message:
    items = sum(quantities)
    what = f"its {items} item{'' if items == 1 else 's'}" if items > 0 else "it"
    return Message(
        subject="Your order has shipped",
        body=(f"Order {order_id} has left the warehouse with {what}.\n\n"
              "The Rampart team"))
