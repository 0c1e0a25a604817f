"""The order resource as every ordering slice returns it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from features.ordering.lifecycle import Status


class OrderItem(msgspec.Struct, frozen=True):
    product_id: UUID
    quantity: int
    unit_price_cents: int


class Order(msgspec.Struct, frozen=True):
    id: UUID
    user_id: UUID
    status: Status
    items: list[OrderItem]
    total_cents: int
    currency: str
    rejection_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime
