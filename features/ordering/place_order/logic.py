"""Rules for a new order: pure, no I/O.

The prices are ordering's own projection of the catalog at the moment of placement; a product
the projection does not know, or lines in different currencies, cannot be ordered (422).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from uuid import UUID

import msgspec
from uuid_utils.compat import uuid7

from features.ordering.place_order.schema import ItemRequest
from features.ordering.schema import Order, OrderItem
from shared.http.problems import Problem, invalid

# The largest integer every JSON reader reads exactly (IEEE 754 doubles): a total above it
# could be misread by a client, so the order is refused rather than stored.
MAX_TOTAL_CENTS = 2**53 - 1


class Price(msgspec.Struct, frozen=True):
    price_cents: int
    currency: str


def refuse_repeats(items: Sequence[ItemRequest]) -> None:
    """A product may appear on one line only: a repeat is a malformed request (400)."""
    seen: set[UUID] = set()
    for index, item in enumerate(items):
        if item.product_id in seen:
            raise invalid("Each product may appear only once; add up the quantities instead.",
                          pointer=f"#/items/{index}/product_id")
        seen.add(item.product_id)


def _unprocessable(detail: str, pointer: str) -> Problem:
    return Problem(422, detail, title="Unprocessable Content",
                   errors=[{"pointer": pointer, "detail": detail}])


def price_order(user_id: UUID, items: Sequence[ItemRequest],
                prices: Mapping[UUID, Price]) -> Order:
    """The pending order these items make at these prices, or a 422 saying which item fails."""
    lines: list[OrderItem] = []
    currency: str | None = None
    total = 0
    for index, item in enumerate(items):
        price = prices.get(item.product_id)
        if price is None:
            raise _unprocessable("No product with this id can be ordered.",
                                 f"#/items/{index}/product_id")
        if currency is not None and price.currency != currency:
            raise _unprocessable(f"This product is priced in {price.currency}, an earlier one "
                                 f"in {currency}: one order is paid in one currency.",
                                 f"#/items/{index}/product_id")
        currency = price.currency
        total += price.price_cents * item.quantity
        lines.append(OrderItem(product_id=item.product_id, quantity=item.quantity,
                               unit_price_cents=price.price_cents))
    if total > MAX_TOTAL_CENTS:
        raise _unprocessable(f"The order's total would exceed {MAX_TOTAL_CENTS} minor units; "
                             "split it into smaller orders.", "#/items")
    assert currency is not None  # the schema requires at least one item
    now = datetime.now(UTC)
    return Order(id=uuid7(), user_id=user_id, status="pending", items=lines, total_cents=total,
                 currency=currency, rejection_reason=None, version=1, created_at=now,
                 updated_at=now)
