from __future__ import annotations

from typing import ClassVar

from msgspec import UNSET, UnsetType

from features.catalog.schema import Category, Description, Name, PriceCents
from shared.http.schema import Body


class ProductChanges(Body, frozen=True):
    """Only the fields sent change; `"description": null` removes the description.

    SKU and currency are fixed at creation: sending them is an unknown field (400).
    """

    # An empty change is a 400: the document says so too (shared/http/openapi.py).
    json_schema_extra: ClassVar[dict[str, object]] = {"minProperties": 1}

    name: Name | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    price_cents: PriceCents | UnsetType = UNSET
    category: Category | UnsetType = UNSET
