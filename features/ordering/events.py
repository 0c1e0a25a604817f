"""Events the ordering module publishes: its public contract with other modules.

Every event's aggregate is the order: deliveries of one order's events reach each subscriber
in the order they were committed. Subscribers decode only the fields they need (tolerant
reader), so adding a field is safe; renaming or removing one breaks them (the contract test in
tests/ says which).
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

import msgspec

from shared.db.events import Event


class OrderLine(msgspec.Struct, frozen=True, kw_only=True):
    product_id: UUID
    quantity: int


class OrderPlaced(Event, frozen=True, kw_only=True):
    """A new order, status `pending`: inventory reserves its lines (all or none)."""

    aggregate: ClassVar[str] = "order_id"
    order_id: UUID
    user_id: UUID
    lines: list[OrderLine]


class OrderConfirmed(Event, frozen=True, kw_only=True):
    """Every line is reserved: the order may be paid."""

    aggregate: ClassVar[str] = "order_id"
    order_id: UUID
    user_id: UUID
    total_cents: int
    currency: str


class OrderRejected(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "order_id"
    order_id: UUID
    user_id: UUID
    reason: str


class OrderCancelled(Event, frozen=True, kw_only=True):
    """Cancelled from `pending` or `confirmed`: whatever inventory holds for it is released."""

    aggregate: ClassVar[str] = "order_id"
    order_id: UUID
    user_id: UUID


class OrderShipped(Event, frozen=True, kw_only=True):
    """The reserved lines left the warehouse: inventory turns the reservation into a shipment."""

    aggregate: ClassVar[str] = "order_id"
    order_id: UUID
    user_id: UUID
    lines: list[OrderLine]
