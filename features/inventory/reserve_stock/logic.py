"""Whether an order's lines can all be reserved: pure, no I/O. All or nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

INSUFFICIENT_STOCK = "insufficient_stock"


class Line(Protocol):
    @property
    def product_id(self) -> UUID: ...
    @property
    def quantity(self) -> int: ...


def can_reserve(lines: Sequence[Line], stock: Mapping[UUID, Mapping[str, Any]]) -> bool:
    """True when every line fits in what is available (on hand minus reserved). A product
    inventory has not heard of has nothing available."""
    for line in lines:
        level = stock.get(line.product_id)
        if level is None or level["on_hand"] - level["reserved"] < line.quantity:
            return False
    return True
