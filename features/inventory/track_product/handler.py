"""On ProductCreated (from catalog): start tracking the product's stock, at zero.

Inventory never reads catalog's tables; this event is how it learns a product exists. The
payload struct is inventory's own and names only what it uses (tolerant reader), and a
redelivered event changes nothing (ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.inventory.track_product import sql
from shared.db import Tx
from shared.modules import Subscription


class ProductCreated(msgspec.Struct, frozen=True):
    product_id: UUID


# The handler is its batch of one: the relay hands a claim's deliveries to the batch form
# (Subscription.handle_many), one insert for all of them.
async def track_product(event: ProductCreated, tx: Tx) -> None:
    await track_products([event], tx)


async def track_products(events: list[ProductCreated], tx: Tx) -> None:
    await sql.insert_stock_levels(tx, (e.product_id for e in events))


# One insert per claim, nothing outside the database, nothing published: it shares its
# transaction with the claim's other sharing batches (ordering's learn_price, on the same
# events), no other of which writes stock levels.
subscription = Subscription(event_type="ProductCreated", name="inventory.track_product",
                            payload_type=ProductCreated, handler=track_product,
                            handle_many=track_products, shares_transaction=True)
