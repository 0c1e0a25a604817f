"""Events the catalog module publishes: its public contract with other modules.

Subscribers decode only the fields they need, so adding a field is safe; renaming or removing
one breaks them (the contract test in tests/ says which).
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from shared.db.events import Event


class ProductCreated(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "product_id"
    product_id: UUID
    sku: str
    name: str
    description: str | None
    price_cents: int
    currency: str
    category: str


class ProductUpdated(Event, frozen=True, kw_only=True):
    """The product as it is after the update (every field, changed or not)."""

    aggregate: ClassVar[str] = "product_id"
    product_id: UUID
    name: str
    description: str | None
    price_cents: int
    currency: str
    category: str
    version: int
