"""On ProductCreated and ProductUpdated (from catalog): keep ordering's own price list.

Ordering never reads catalog's tables: the price an order is placed at is the one these events
taught it. The two subscriptions are two lanes, so an update can arrive before its product's
creation; the version decides (a product is created at version 1), so every order of arrival
and every redelivery ends with the newest price.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.ordering.track_prices import sql
from shared.db import Tx
from shared.modules import Subscription

CREATED_VERSION = 1


class ProductCreated(msgspec.Struct, frozen=True):
    product_id: UUID
    price_cents: int
    currency: str


class ProductUpdated(msgspec.Struct, frozen=True):
    product_id: UUID
    price_cents: int
    currency: str
    version: int


async def learn_price(event: ProductCreated, tx: Tx) -> None:
    await sql.upsert_price(tx, event.product_id, event.price_cents, event.currency,
                           CREATED_VERSION)


async def learn_new_price(event: ProductUpdated, tx: Tx) -> None:
    await sql.upsert_price(tx, event.product_id, event.price_cents, event.currency,
                           event.version)


# One upsert each, nothing outside the database, nothing published: they may share.
on_created = Subscription(event_type="ProductCreated", name="ordering.learn_price",
                          payload_type=ProductCreated, handler=learn_price,
                          shares_transaction=True)
on_updated = Subscription(event_type="ProductUpdated", name="ordering.learn_new_price",
                          payload_type=ProductUpdated, handler=learn_new_price,
                          shares_transaction=True)
