from __future__ import annotations

from uuid import UUID

from features.notifications.schema import Message

# Ordering's reasons, told in words; one this module does not know yet is quoted as it came.
REASONS = {"insufficient_stock": "some of its items are not in stock in the quantity asked for"}
MAX_REASON = 200


def order_rejected(order_id: UUID, reason: str) -> Message:
    told = REASONS.get(reason) or f"of this: {reason.strip()[:MAX_REASON] or 'unknown'}"
    return Message(
        subject="Your order could not be accepted",
        body=(f"Order {order_id} could not be accepted because {told}. Nothing was charged;"
              " you are welcome to place a new order.\n\n"
              "The Rampart team"))
