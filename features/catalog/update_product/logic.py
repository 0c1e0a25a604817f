"""Rules for changing a product: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from msgspec import UNSET

from features.catalog.schema import trimmed
from features.catalog.update_product.schema import ProductChanges
from shared.http.problems import invalid


class Changes(msgspec.Struct, frozen=True):
    """What the update statement sets; None leaves a column as it is."""

    name: str | None
    price_cents: int | None
    category: str | None
    replace_description: bool
    description: str | None
    updated_at: datetime


def _trimmed(value: str | msgspec.UnsetType, field: str) -> str | None:
    return None if value is UNSET else trimmed(value, field)


def changes(data: ProductChanges) -> Changes:
    if all(getattr(data, field) is UNSET for field in data.__struct_fields__):
        raise invalid("Send at least one of name, description, price_cents, category.",
                      pointer="#")
    return Changes(
        name=_trimmed(data.name, "name"),
        price_cents=None if data.price_cents is UNSET else data.price_cents,
        category=_trimmed(data.category, "category"),
        replace_description=data.description is not UNSET,
        description=None if data.description is UNSET else data.description,
        updated_at=datetime.now(UTC),
    )
