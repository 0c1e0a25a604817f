from __future__ import annotations

import msgspec


class CategoryCount(msgspec.Struct, frozen=True):
    category: str
    product_count: int


class Categories(msgspec.Struct, frozen=True):
    items: list[CategoryCount]
