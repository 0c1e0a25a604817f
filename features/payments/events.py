"""Events the payments module publishes: its public contract with other modules.

Every event's aggregate is the order, so one order's payment events reach each subscriber in
the order they were committed (a PaymentRefunded never overtakes its PaymentSucceeded).
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from shared.db.events import Event


class PaymentSucceeded(Event, frozen=True, kw_only=True):
    """The provider charged the order's amount: ordering moves a confirmed order to `paid`."""

    aggregate: ClassVar[str] = "order_id"
    order_id: UUID
    payment_id: UUID
    user_id: UUID
    amount_cents: int
    currency: str


class PaymentFailed(Event, frozen=True, kw_only=True):
    """The provider declined the charge (`decline_code` says why); the order stays confirmed."""

    aggregate: ClassVar[str] = "order_id"
    order_id: UUID
    payment_id: UUID
    user_id: UUID
    amount_cents: int
    currency: str
    decline_code: str | None


class PaymentRefunded(Event, frozen=True, kw_only=True):
    """A succeeded charge was given back: its order was cancelled while it was being paid."""

    aggregate: ClassVar[str] = "order_id"
    order_id: UUID
    payment_id: UUID
    user_id: UUID
    amount_cents: int
    currency: str
