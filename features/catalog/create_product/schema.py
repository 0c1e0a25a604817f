from __future__ import annotations

from features.catalog.schema import Category, Currency, Description, Name, PriceCents, Sku
from shared.http.schema import Body


class NewProduct(Body, frozen=True):
    sku: Sku
    name: Name
    price_cents: PriceCents
    currency: Currency
    category: Category
    description: Description | None = None
