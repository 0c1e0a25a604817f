"""What the notifications slices share: the kinds, a composed message, the listed item."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

Kind = Literal["welcome", "order_confirmed", "order_rejected", "order_shipped",
               "payment_succeeded", "payment_refunded"]


class Message(msgspec.Struct, frozen=True):
    """A notification's text, as each slice's pure `logic.py` composes it."""

    subject: str
    body: str


class Payment(msgspec.Struct, frozen=True):
    """What notifications reads of payments' PaymentSucceeded and PaymentRefunded: the same
    fields, so each slice's payload is this under its event's name."""

    order_id: UUID
    payment_id: UUID
    user_id: UUID
    amount_cents: int
    currency: str


class Notification(msgspec.Struct, frozen=True):
    id: UUID
    kind: Kind
    subject: str
    body: str
    created_at: datetime


NOTIFICATION_COLUMNS = "id, kind, subject, body, created_at"
