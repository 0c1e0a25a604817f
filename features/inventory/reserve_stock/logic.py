"""Which orders can be reserved: pure, no I/O. Each order all or nothing, in turn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar
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


class Order(Protocol):
    @property
    def lines(self) -> Sequence[Line]: ...


OrderT = TypeVar("OrderT", bound=Order)


def decide(orders: Sequence[OrderT],
           stock: Mapping[UUID, Mapping[str, Any]]) -> list[tuple[OrderT, bool]]:
    """Each order with whether it is reserved, taking them in turn: an order that fits takes
    its quantities from what the next ones find available, as if each were reserved alone,
    one after the other."""
    left = {product_id: {"on_hand": level["on_hand"], "reserved": level["reserved"]}
            for product_id, level in stock.items()}
    decided = []
    for order in orders:
        fits = can_reserve(order.lines, left)
        if fits:
            for line in order.lines:
                left[line.product_id]["reserved"] += line.quantity
        decided.append((order, fits))
    return decided
