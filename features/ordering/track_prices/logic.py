"""What ordering learns of prices from one event, and from many at once: pure, no I/O.

A price carries its product's version (a product is created at version 1); a newer version
replaces an older one, never the reverse, and an equal one changes nothing, so every order of
arrival and every redelivery ends at the newest price. `newest` is what learning a batch one
event after another leaves, one entry per product, so that a batch is one statement (sql.py
applies the same rule against what the table already holds).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import msgspec


class Price(msgspec.Struct, frozen=True):
    product_id: UUID
    price_cents: int
    currency: str
    version: int


def then(known: Price, news: Price) -> Price:
    """`known`, after learning `news` of the same product."""
    return news if news.version > known.version else known


def newest(batch: Iterable[Price]) -> list[Price]:
    """One entry per product, as if each were learned in turn; sorted by product id, the
    order the rows are then locked in."""
    products: dict[UUID, Price] = {}
    for news in batch:
        known = products.get(news.product_id)
        products[news.product_id] = news if known is None else then(known, news)
    return [products[k] for k in sorted(products)]
