"""What payments learns of an order from one event, and of many at once: pure, no I/O.

A status only moves forward (pending -> confirmed -> rejected | cancelled, both final), and an
amount, once known, stays. `folded` is what learning a batch one event after another leaves,
one entry per order, so that a batch is one statement (sql.py applies the same rule against
what the table already holds).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import msgspec

RANK = {"pending": 1, "confirmed": 2, "rejected": 3, "cancelled": 3}


class Learned(msgspec.Struct, frozen=True):
    order_id: UUID
    user_id: UUID
    status: str
    total_cents: int | None = None
    currency: str | None = None


def then(known: Learned, news: Learned) -> Learned:
    """`known`, after learning `news` of the same order."""
    return Learned(
        order_id=known.order_id, user_id=known.user_id,
        status=news.status if RANK[news.status] > RANK[known.status] else known.status,
        total_cents=known.total_cents if known.total_cents is not None else news.total_cents,
        currency=known.currency if known.currency is not None else news.currency)


def folded(batch: Iterable[Learned]) -> list[Learned]:
    """One entry per order, as if each were learned in turn; sorted by order id, the order
    the rows are then locked in."""
    orders: dict[UUID, Learned] = {}
    for news in batch:
        known = orders.get(news.order_id)
        orders[news.order_id] = news if known is None else then(known, news)
    return [orders[k] for k in sorted(orders)]
