"""Rules for a new product: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

from uuid_utils.compat import uuid7

from features.catalog.create_product.schema import NewProduct
from features.catalog.schema import Product
from shared.http.problems import invalid


def non_blank(value: str, field: str) -> str:
    """Names and categories are stored trimmed and must say something."""
    clean = value.strip()
    if not clean:
        raise invalid(f"{field} must contain a non-space character.", pointer=f"#/{field}")
    return clean


def new_product(data: NewProduct) -> Product:
    now = datetime.now(UTC)
    return Product(
        id=uuid7(), sku=data.sku, name=non_blank(data.name, "name"),
        description=data.description, price_cents=data.price_cents, currency=data.currency,
        category=non_blank(data.category, "category"), version=1, created_at=now, updated_at=now,
    )
