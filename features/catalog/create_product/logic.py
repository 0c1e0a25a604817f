"""Rules for a new product: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

from uuid_utils.compat import uuid7

from features.catalog.create_product.schema import NewProduct
from features.catalog.schema import Product, trimmed


def new_product(data: NewProduct) -> Product:
    now = datetime.now(UTC)
    return Product(
        id=uuid7(), sku=data.sku, name=trimmed(data.name, "name"),
        description=data.description, price_cents=data.price_cents, currency=data.currency,
        category=trimmed(data.category, "category"), version=1, created_at=now, updated_at=now,
    )
