"""track_product: inventory starts tracking a product when catalog announces it."""

from __future__ import annotations

import asyncio

import msgspec
import psycopg
import pytest
from uuid_utils.compat import uuid7

from features.inventory.track_product.handler import (
    ProductCreated,
    subscription,
    track_product,
    track_products,
)
from tests.fixtures import (
    bearer,
    eventually,
    failed_delivery,
    make_settings,
    store_event,
    waiting_on_a_lock,
)

# Exactly what catalog publishes (its events.py), extra fields included: inventory's own
# struct must read it without knowing catalog's.
PUBLISHED = ('{"product_id": "%s", "sku": "TEA-1", "name": "Tea", "description": null,'
             ' "price_cents": 450, "currency": "EUR", "category": "tea", "later_field": 1}')


async def stock(db_conn, product_id) -> dict | None:
    cur = await db_conn.execute("SELECT on_hand, reserved FROM inventory.stock_levels"
                                " WHERE product_id = %s", (product_id,))
    return await cur.fetchone()


def test_reads_only_what_it_needs_from_the_published_event() -> None:
    product_id = uuid7()
    payload = msgspec.json.decode(PUBLISHED % product_id, type=subscription.payload_type)
    assert payload == ProductCreated(product_id=product_id)
    assert subscription.event_type == "ProductCreated"


async def test_a_new_product_starts_at_zero_and_redelivery_changes_nothing(db_conn) -> None:
    product_id = uuid7()
    async with db_conn.transaction():
        await track_product(ProductCreated(product_id=product_id), db_conn)
    assert await stock(db_conn, product_id) == {"on_hand": 0, "reserved": 0}
    await db_conn.execute("UPDATE inventory.stock_levels SET on_hand = 7 WHERE product_id = %s",
                          (product_id,))
    async with db_conn.transaction():  # the relay delivered it again
        await track_product(ProductCreated(product_id=product_id), db_conn)
    assert await stock(db_conn, product_id) == {"on_hand": 7, "reserved": 0}


async def test_one_event_handled_twice_at_once_tracks_the_product_once(database_url,
                                                                      db_conn) -> None:
    event = ProductCreated(product_id=uuid7())

    async def handle(conn) -> None:
        async with conn.transaction():
            await track_product(event, conn)

    async with await psycopg.AsyncConnection.connect(database_url) as first, \
            await psycopg.AsyncConnection.connect(database_url) as second:
        async with first.transaction():
            await track_product(event, first)
            racing = asyncio.create_task(handle(second))  # meets first's uncommitted row
            await waiting_on_a_lock(db_conn)
        await racing  # the second delivery commits too, changing nothing
    assert await stock(db_conn, event.product_id) == {"on_hand": 0, "reserved": 0}
    rows = await (await db_conn.execute(
        "SELECT count(*) AS n FROM inventory.stock_levels")).fetchone()
    assert rows["n"] == 1


# -- many at once (the relay's batch: Subscription.handle_many) -------------------------------


async def test_a_batch_tracks_each_product_once_and_leaves_known_ones_alone(db_conn) -> None:
    """One insert for a claim's deliveries: a product known already keeps its stock, one
    listed twice is tracked once, new ones start at zero; the batch redelivered changes
    nothing. That is what the same deliveries one by one leave."""
    assert subscription.handle_many is track_products
    known, twice, new = uuid7(), uuid7(), uuid7()
    async with db_conn.transaction():
        await track_product(ProductCreated(product_id=known), db_conn)
    await db_conn.execute("UPDATE inventory.stock_levels SET on_hand = 7 WHERE product_id = %s",
                          (known,))
    batch = [ProductCreated(product_id=p) for p in (new, known, twice, twice)]
    for _ in range(2):
        async with db_conn.transaction():
            await track_products(batch, db_conn)
    assert await stock(db_conn, known) == {"on_hand": 7, "reserved": 0}
    assert await stock(db_conn, twice) == {"on_hand": 0, "reserved": 0}
    assert await stock(db_conn, new) == {"on_hand": 0, "reserved": 0}
    rows = await (await db_conn.execute(
        "SELECT count(*) AS n FROM inventory.stock_levels")).fetchone()
    assert rows["n"] == 3


async def test_batches_at_once_over_the_same_products_track_each_once(
        database_url, db_conn) -> None:
    """Two relays' batches over the same new products, listed in opposite orders, at once:
    the second waits for the first's uncommitted rows and then changes nothing. (Both insert
    in product id order, so they cannot wait in a circle; this test does not force the
    interleaving that would deadlock without it.)"""
    products = [uuid7() for _ in range(20)]

    async def batch(events) -> None:
        async with await psycopg.AsyncConnection.connect(database_url) as conn, \
                conn.transaction():
            await track_products(events, conn)
            await asyncio.sleep(0.05)  # hold the rows while the other batch asks

    events = [ProductCreated(product_id=p) for p in products]
    # A deadlock would raise DeadlockDetected here (PostgreSQL breaks it after 1 s).
    await asyncio.gather(batch(events), batch(events[::-1]))
    rows = await (await db_conn.execute(
        "SELECT count(*) AS n FROM inventory.stock_levels WHERE on_hand = 0")).fetchone()
    assert rows["n"] == len(products)


@pytest.mark.parametrize("payload", [b'{"sku": "TEA-1"}', b'{"product_id": 42}',
                                     b'{"product_id": "not-a-uuid"}', b'{"product_id": null}',
                                     b'[]', b''])
def test_a_malformed_payload_does_not_decode(payload) -> None:
    with pytest.raises(msgspec.DecodeError):  # ValidationError is one too
        msgspec.json.decode(payload, type=subscription.payload_type)


class TestThroughTheRelay:
    @pytest.fixture
    def settings(self):
        return make_settings(relay_enabled="true")

    async def test_a_product_created_in_catalog_appears_in_inventory(self, app, client) -> None:
        created = await client.post("/v1/products", headers={
            **bearer(app), "Idempotency-Key": "k"}, json={
            "sku": "TEA-1", "name": "Tea", "price_cents": 450, "currency": "EUR",
            "category": "tea"})
        assert created.status_code == 201, created.text
        url = f"/v1/inventory/{created.json()['id']}"

        async def tracked():
            response = await client.get(url)
            return response.json() if response.status_code == 200 else None

        assert await eventually(tracked) == {"product_id": created.json()["id"], "on_hand": 0,
                                             "reserved": 0, "available": 0}

    async def test_a_malformed_event_fails_its_delivery_and_writes_nothing(self, db_conn,
                                                                           client) -> None:
        event_id = await store_event(db_conn, "ProductCreated", '{"product_id": 42}',
                                     subscription.name)
        delivery = await failed_delivery(db_conn, event_id)
        assert delivery["state"] == "pending" and delivery["attempts"] >= 1  # to be retried
        assert delivery["last_error"].startswith("ValidationError: Expected `uuid`, got `int`")
        rows = await (await db_conn.execute(
            "SELECT count(*) AS n FROM inventory.stock_levels")).fetchone()
        assert rows["n"] == 0
