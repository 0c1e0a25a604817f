"""track_prices: ordering's own price list, from catalog's ProductCreated / ProductUpdated."""

from __future__ import annotations

import asyncio
import itertools

import msgspec
import pytest
from uuid_utils.compat import uuid7

from features.ordering.track_prices.handler import (
    ProductCreated,
    ProductUpdated,
    learn_new_price,
    learn_price,
)
from tests.fixtures import bearer
from tests.saga import handle


async def price(db_conn, product_id) -> tuple[int, int] | None:
    cur = await db_conn.execute("SELECT price_cents, version FROM ordering.product_prices"
                                " WHERE product_id = %s", (product_id,))
    row = await cur.fetchone()
    return None if row is None else (row["price_cents"], row["version"])




@pytest.mark.parametrize("arrival", list(itertools.permutations(range(3))))
async def test_every_order_of_arrival_ends_at_the_newest_price(database_url, db_conn,
                                                               arrival) -> None:
    product_id = uuid7()
    events = [(learn_price, ProductCreated(product_id, 100, "EUR")),
              (learn_new_price, ProductUpdated(product_id, 200, "EUR", 2)),
              (learn_new_price, ProductUpdated(product_id, 300, "EUR", 3))]
    for index in arrival:
        await handle(database_url, *events[index])
    for handler, event in events:  # and every one of them redelivered
        await handle(database_url, handler, event)
    assert await price(db_conn, product_id) == (300, 3)


async def test_concurrent_duplicates_of_a_creation_store_one_price(database_url,
                                                                   db_conn) -> None:
    product_id = uuid7()
    await asyncio.gather(*(handle(database_url, learn_price,
                                  ProductCreated(product_id, 100, "EUR")) for _ in range(5)))
    assert await price(db_conn, product_id) == (100, 1)


def test_a_malformed_event_is_refused_before_anything_is_written() -> None:
    for payload in (b'{"product_id": "x", "price_cents": 1, "currency": "EUR"}',
                    b'{"product_id": "01890a5d-ac96-774b-bcce-b302099a8057"}',
                    b'{"product_id": "01890a5d-ac96-774b-bcce-b302099a8057",'
                    b' "price_cents": "1", "currency": "EUR"}'):
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(payload, type=ProductCreated)


async def test_a_created_and_updated_product_is_ordered_at_its_new_price(
        app, client, database_url, db_conn) -> None:
    """Through HTTP: catalog publishes, ordering learns, an order uses the newest price."""
    from tests.saga import Deliveries

    admin = {**bearer(app), "Idempotency-Key": "p"}
    created = (await client.post("/v1/products", headers=admin, json={
        "sku": "TEA-1", "name": "Tea", "price_cents": 450, "currency": "EUR",
        "category": "tea"})).json()
    updated = await client.patch(f"/v1/products/{created['id']}", json={"price_cents": 500},
                                 headers={**bearer(app), "If-Match": '"1"'})
    assert updated.status_code == 200
    async with Deliveries(database_url, "ordering.learn_price",
                          "ordering.learn_new_price") as bus:
        await bus.deliver()
    assert await price(db_conn, created["id"]) == (500, 2)
    order = await client.post("/v1/orders", json={"items": [
        {"product_id": created["id"], "quantity": 2}]}, headers={
        **bearer(app, "customer"), "Idempotency-Key": "o"})
    assert order.status_code == 201 and order.json()["total_cents"] == 1000
