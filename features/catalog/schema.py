"""The product resource as every catalog slice returns it, and the field rules they share."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from shared.http.schema import whole

PRODUCT_COLUMNS = ("id, sku, name, description, price_cents, currency, category, version, "
                   "created_at, updated_at")
# Below 2**53, so every JSON consumer reads it exactly; far inside PostgreSQL's bigint.
MAX_PRICE_CENTS = 10**15

Sku = Annotated[str, Meta(min_length=1, max_length=64, pattern=whole(r"[A-Z0-9-]+"),
                          description="Upper-case letters, digits and dashes.")]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Description = Annotated[str, Meta(max_length=5000)]
PriceCents = Annotated[int, Meta(ge=1, le=MAX_PRICE_CENTS, description="Minor units.")]
Currency = Annotated[str, Meta(min_length=3, max_length=3, pattern=whole(r"[A-Z]{3}"),
                               description="ISO 4217 code.")]
Category = Annotated[str, Meta(min_length=1, max_length=64)]


class Product(msgspec.Struct, frozen=True):
    id: UUID
    sku: str
    name: str
    description: str | None
    price_cents: int
    currency: str
    category: str
    version: int
    created_at: datetime
    updated_at: datetime
