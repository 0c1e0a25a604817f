from __future__ import annotations

from typing import Annotated
from uuid import UUID

from msgspec import Meta

from shared.http.schema import Body

MAX_ITEMS = 50
Quantity = Annotated[int, Meta(ge=1, le=1000, description="Units of the product, 1-1000.")]


class ItemRequest(Body, frozen=True):
    product_id: UUID
    quantity: Quantity


class PlaceOrder(Body, frozen=True):
    items: Annotated[list[ItemRequest], Meta(
        min_length=1, max_length=MAX_ITEMS,
        description="1-50 lines, each product at most once.")]
