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
from features.ordering.track_prices.logic import Price
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


# Each handler is its batch of one: the relay hands a claim's deliveries of one subscriber to
# the batch form (Subscription.handle_many), one statement for all of them.
async def learn_price(event: ProductCreated, tx: Tx) -> None:
    await learn_prices([event], tx)


async def learn_prices(events: list[ProductCreated], tx: Tx) -> None:
    await sql.upsert_prices(tx, (Price(e.product_id, e.price_cents, e.currency,
                                       CREATED_VERSION) for e in events))


async def learn_new_price(event: ProductUpdated, tx: Tx) -> None:
    await learn_new_prices([event], tx)


async def learn_new_prices(events: list[ProductUpdated], tx: Tx) -> None:
    await sql.upsert_prices(tx, (Price(e.product_id, e.price_cents, e.currency, e.version)
                                 for e in events))


# One upsert per claim, nothing outside the database, nothing published. Two batches (a
# creation's and an update's, or two relays') lock their rows in product id order. The
# creation's shares its transaction with the claim's other sharing batches (inventory's
# track_product, on the same events); the update's does not, so that no transaction ever
# holds two batches of price rows, each in its own order.
on_created = Subscription(event_type="ProductCreated", name="ordering.learn_price",
                          payload_type=ProductCreated, handler=learn_price,
                          handle_many=learn_prices, shares_transaction=True)
on_updated = Subscription(event_type="ProductUpdated", name="ordering.learn_new_price",
                          payload_type=ProductUpdated, handler=learn_new_price,
                          handle_many=learn_new_prices)
