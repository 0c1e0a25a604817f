from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from features.ordering.place_order.logic import Price
from features.ordering.schema import Order
from shared.db import Tx

PRICES = """
SELECT product_id, price_cents, currency FROM ordering.product_prices
WHERE product_id = ANY(%s)"""

# The order and its lines in one statement (one round trip); the lines keep the customer's
# order through their position.
INSERT_ORDER = """
WITH placed AS (
    INSERT INTO ordering.orders (id, user_id, status, total_cents, currency, version,
                                 created_at, updated_at)
    VALUES (%(id)s, %(user_id)s, %(status)s, %(total_cents)s, %(currency)s, %(version)s,
            %(created_at)s, %(updated_at)s)
    RETURNING id
)
INSERT INTO ordering.order_lines (order_id, position, product_id, quantity, unit_price_cents)
SELECT placed.id, l.position - 1, l.product_id, l.quantity, l.unit_price_cents
FROM placed, unnest(%(product_ids)s::uuid[], %(quantities)s::integer[],
                    %(unit_prices)s::bigint[]) WITH ORDINALITY
     AS l(product_id, quantity, unit_price_cents, position)"""


async def prices_of(tx: Tx, product_ids: Sequence[UUID]) -> dict[UUID, Price]:
    cur = await tx.execute(PRICES, (list(product_ids),))
    return {row["product_id"]: Price(row["price_cents"], row["currency"])
            for row in await cur.fetchall()}


async def insert_order(tx: Tx, order: Order) -> None:
    await tx.execute(INSERT_ORDER, {
        "id": order.id, "user_id": order.user_id, "status": order.status,
        "total_cents": order.total_cents, "currency": order.currency, "version": order.version,
        "created_at": order.created_at, "updated_at": order.updated_at,
        "product_ids": [i.product_id for i in order.items],
        "quantities": [i.quantity for i in order.items],
        "unit_prices": [i.unit_price_cents for i in order.items],
    })
