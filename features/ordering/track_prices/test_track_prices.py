"""track_prices: ordering's own price list, from catalog's ProductCreated / ProductUpdated."""

from __future__ import annotations

import asyncio
import itertools

import msgspec
import psycopg
import pytest
from uuid_utils.compat import uuid7

from features.ordering.track_prices.handler import (
    ProductCreated,
    ProductUpdated,
    learn_new_price,
    learn_new_prices,
    learn_price,
    learn_prices,
    on_created,
    on_updated,
)
from features.ordering.track_prices.logic import Price, newest, then
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


# -- many at once (the relay's batch: Subscription.handle_many) -------------------------------


def test_both_subscriptions_take_a_claims_deliveries_at_once() -> None:
    assert on_created.handle_many is learn_prices
    assert on_updated.handle_many is learn_new_prices


def test_the_newest_of_a_batch_is_what_learning_each_in_turn_leaves_in_every_order() -> None:
    product_id = uuid7()
    news = [Price(product_id, 100, "EUR", 1), Price(product_id, 200, "EUR", 2),
            Price(product_id, 300, "USD", 3), Price(product_id, 333, "USD", 3)]
    for arrival in itertools.permutations(news):
        [one] = newest(arrival)
        in_turn = arrival[0]
        for later in arrival[1:]:
            in_turn = then(in_turn, later)
        assert one == in_turn
        assert one.version == 3
        assert one == next(p for p in arrival if p.version == 3)  # an equal version: no change
    assert newest([]) == []
    ids = [uuid7() for _ in range(5)]
    assert [p.product_id for p in newest(Price(i, 1, "EUR", 1) for i in reversed(ids))] \
        == sorted(ids)  # the lock order


async def test_a_batch_leaves_what_the_same_deliveries_one_by_one_leave(database_url,
                                                                        db_conn) -> None:
    """Several products in one statement: one known at a newer version already, one updated
    before its creation arrives, one created twice within the batch, one new; then both
    batches redelivered whole. Each ends where one delivery after another would leave it."""
    known, early, twice, new = (uuid7() for _ in range(4))
    await handle(database_url, learn_new_price, ProductUpdated(known, 900, "EUR", 4))
    for _ in range(2):
        await handle(database_url, learn_new_prices, [
            ProductUpdated(known, 800, "EUR", 3), ProductUpdated(early, 250, "EUR", 2)])
        await handle(database_url, learn_prices, [
            ProductCreated(p, 100, "EUR") for p in (known, early, twice, twice, new)])
    assert await price(db_conn, known) == (900, 4)
    assert await price(db_conn, early) == (250, 2)
    assert await price(db_conn, twice) == (100, 1)
    assert await price(db_conn, new) == (100, 1)
    rows = await (await db_conn.execute(
        "SELECT count(*) AS n FROM ordering.product_prices")).fetchone()
    assert rows["n"] == 4


async def test_batches_at_once_over_the_same_products_end_at_the_newest_price(
        database_url, db_conn) -> None:
    """A creation batch and update batches over the same products, listed in opposite orders,
    at once (two relays): each takes the rows in product id order, waits for the other's at
    most, and none undoes a newer price."""
    products = [uuid7() for _ in range(20)]
    created = [ProductCreated(p, 100, "EUR") for p in products]
    updated = [ProductUpdated(p, 700, "EUR", 5) for p in products]

    async def batch(handler, events) -> None:
        async with await psycopg.AsyncConnection.connect(database_url) as conn, \
                conn.transaction():
            await handler(events, conn)
            await asyncio.sleep(0.05)  # hold the locks while the other batch asks

    # A deadlock would raise DeadlockDetected here (PostgreSQL breaks it after 1 s).
    await asyncio.gather(batch(learn_prices, created), batch(learn_new_prices, updated[::-1]),
                         batch(learn_prices, created[::-1]))
    for product_id in products:
        assert await price(db_conn, product_id) == (700, 5)


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
