"""get_product: GET /v1/products/{id} (anonymous, ETag, If-None-Match)."""

from __future__ import annotations

import asyncio
from uuid import UUID

import psycopg
import pytest
from uuid_utils.compat import uuid7

from features.catalog.caches import PRODUCTS
from features.catalog.get_product.handler import CACHE_CONTROL, _load
from shared.app import create_app
from shared.cache import read_through
from shared.db.invalidations import APPLICATION_NAME
from tests.fixtures import bearer, eventually, problem, serve_in_loop


async def seed_product(db_conn, version: int = 1) -> str:
    product_id = uuid7()
    await db_conn.execute(
        "INSERT INTO catalog.products (id, sku, name, price_cents, currency, category, version,"
        " created_at, updated_at) VALUES (%s, 'MUG-1', 'Mug', 1299, 'EUR', 'kitchen', %s,"
        " now(), now())", (product_id, version))
    return str(product_id)


async def test_anyone_reads_a_product_with_its_etag(client, db_conn) -> None:
    product_id = await seed_product(db_conn, version=3)
    response = await client.get(f"/v1/products/{product_id}")
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"3"'
    body = response.json()
    assert body["id"] == product_id and body["version"] == 3
    assert body["price_cents"] == 1299 and body["currency"] == "EUR"
    assert body["description"] is None and body["updated_at"].endswith("Z")


async def test_a_current_etag_gets_an_empty_304(client, db_conn) -> None:
    product_id = await seed_product(db_conn, version=2)
    for held in ('"2"', 'W/"2"', '"1", "2"', "*"):
        response = await client.get(f"/v1/products/{product_id}",
                                    headers={"If-None-Match": held})
        assert response.status_code == 304, held
        assert response.content == b"" and response.headers["etag"] == '"2"'
    stale = await client.get(f"/v1/products/{product_id}", headers={"If-None-Match": '"1"'})
    assert stale.status_code == 200 and stale.json()["version"] == 2


async def test_unknown_and_malformed_ids_are_404(client) -> None:
    problem(await client.get(f"/v1/products/{uuid7()}"), 404, "not-found")
    for bad in ("not-a-uuid", "123", "01900000-0000-7000-8000-00000000000g"):
        problem(await client.get(f"/v1/products/{bad}"), 404, "not-found")


async def test_reads_racing_updates_see_whole_versions_and_their_own_writes(app, client,
                                                                            db_conn) -> None:
    product_id = await seed_product(db_conn)  # version 1 is ('Mug', 1299); version v is below
    url = f"/v1/products/{product_id}"
    updated = asyncio.Event()

    async def update() -> None:
        for version in range(1, 21):
            changed = await client.patch(url, json={"name": f"Mug {version + 1}",
                                                    "price_cents": 1000 + version + 1},
                                         headers={**bearer(app), "If-Match": f'"{version}"'})
            assert changed.status_code == 200, changed.text
            after = await client.get(url)  # started after the PATCH answered: read-your-writes
            assert after.json()["version"] == version + 1
        updated.set()

    async def read() -> list:
        # Until the updates end (cached reads are quick): each reader sees them land.
        answers = []
        while not updated.is_set() and len(answers) < 2000:
            answers.append(await client.get(url))
            await asyncio.sleep(0)
        return answers

    _, *readers = await asyncio.gather(update(), *(read() for _ in range(4)))
    for response in (r for answers in readers for r in answers):
        body = response.json()
        assert response.headers["etag"] == f'"{body["version"]}"'
        expected = ("Mug", 1299) if body["version"] == 1 else (
            f"Mug {body['version']}", 1000 + body["version"])
        assert (body["name"], body["price_cents"]) == expected, body
    assert len({r.json()["version"] for answers in readers for r in answers}) > 1  # it raced


async def test_the_database_refuses_a_product_the_read_could_not_serve(app, client,
                                                                       db_conn) -> None:
    product_id = await seed_product(db_conn)
    for column, value, error in (("price_cents", 0, psycopg.errors.CheckViolation),
                                 ("price_cents", -1, psycopg.errors.CheckViolation),
                                 ("version", 0, psycopg.errors.CheckViolation),
                                 ("name", None, psycopg.errors.NotNullViolation)):
        with pytest.raises(error):
            await db_conn.execute(f"UPDATE catalog.products SET {column} = %s WHERE id = %s",
                                  (value, product_id))
    with pytest.raises(psycopg.errors.UniqueViolation):
        await seed_product(db_conn)  # the same sku, MUG-1
    # A create that lost on the sku leaves the first product as it was, and nothing else.
    problem(await client.post("/v1/products", headers={**bearer(app), "Idempotency-Key": "k"},
                              json={"sku": "MUG-1", "name": "Other", "price_cents": 1,
                                    "currency": "EUR", "category": "kitchen"}),
            409, "conflict")
    response = await client.get(f"/v1/products/{product_id}")
    assert response.headers["etag"] == '"1"'
    assert (response.json()["name"], response.json()["price_cents"]) == ("Mug", 1299)
    listed = (await client.get("/v1/products")).json()["items"]
    assert [p["id"] for p in listed] == [product_id]


# -- the product read cache -------------------------------------------------------------------

KERNEL_HEADERS = {"x-request-id", "traceparent", "ratelimit"}  # differ on every answer


async def test_a_cached_read_is_the_same_bytes_and_headers_as_a_database_read(app, client,
                                                                             db_conn) -> None:
    product_id = await seed_product(db_conn, version=4)
    cache = app.state.caches(PRODUCTS)
    first = await client.get(f"/v1/products/{product_id}")
    second = await client.get(f"/v1/products/{product_id}")
    assert (cache.misses, cache.hits) == (1, 1)
    assert first.content == second.content and first.json()["version"] == 4
    assert ({k: v for k, v in first.headers.items() if k not in KERNEL_HEADERS}
            == {k: v for k, v in second.headers.items() if k not in KERNEL_HEADERS})
    assert second.headers["etag"] == '"4"' and second.headers["cache-control"] == CACHE_CONTROL
    held = await client.get(f"/v1/products/{product_id}", headers={"If-None-Match": '"4"'})
    assert held.status_code == 304 and held.content == b"" and cache.hits == 2
    assert held.headers["etag"] == '"4"' and held.headers["cache-control"] == CACHE_CONTROL
    # A product that does not exist is not cached: it may be created a moment later.
    problem(await client.get(f"/v1/products/{uuid7()}"), 404, "not-found")
    assert len(cache) == 1


@pytest.fixture
async def replica(settings, database_url):
    """A second instance of the service on the same database: another process, in effect."""
    other = create_app(settings, database_url=database_url)
    async with serve_in_loop(other) as other_client:
        yield other, other_client


async def test_a_read_that_began_before_an_update_elsewhere_does_not_cache_the_old_row(
        app, client, db_conn, replica) -> None:
    """The fill race, step by step: read v1, an update commits in the other instance and its
    notification drops the key here, then the read tries to store v1."""
    other, other_client = replica
    product_id = await seed_product(db_conn)
    cache = app.state.caches(PRODUCTS)
    read, release = asyncio.Event(), asyncio.Event()

    async def slow_load(key):
        loaded = await _load(app.state.db, key)  # the slice's own database read
        read.set()
        await release.wait()
        return loaded

    filling = asyncio.create_task(read_through(cache, UUID(product_id), slow_load))
    await read.wait()
    changed = await other_client.patch(f"/v1/products/{product_id}", json={"name": "Cup"},
                                       headers={**bearer(other), "If-Match": '"1"'})
    assert changed.status_code == 200
    await eventually(lambda: cache.invalidations == 1)  # the notification arrived here
    release.set()
    body, tag = await filling
    assert tag == '"1"' and b'"name":"Mug"' in body  # what that read saw...
    assert cache.get(UUID(product_id)) is None  # ...but it was not kept
    after = await client.get(f"/v1/products/{product_id}")
    assert after.json()["name"] == "Cup" and after.headers["etag"] == '"2"'


async def test_replicas_never_serve_an_update_stale_once_notified(app, client, db_conn,
                                                                  replica) -> None:
    other, other_client = replica
    product_id = await seed_product(db_conn)
    url = f"/v1/products/{product_id}"
    cache = other.state.caches(PRODUCTS)
    for version in range(1, 6):
        for _ in range(2):  # the other instance caches the current version
            assert (await other_client.get(url)).headers["etag"] == f'"{version}"'
        received = cache.invalidations
        changed = await client.patch(url, json={"price_cents": 2000 + version},
                                     headers={**bearer(app), "If-Match": f'"{version}"'})
        assert changed.status_code == 200
        await eventually(lambda received=received: cache.invalidations > received)
        seen = await other_client.get(url)
        assert seen.headers["etag"] == f'"{version + 1}"'
        assert seen.json()["price_cents"] == 2000 + version
    assert cache.hits >= 5


async def test_a_lost_listener_flushes_and_bypasses_the_cache_until_it_is_back(
        app, client, db_conn) -> None:
    product_id = await seed_product(db_conn)
    url = f"/v1/products/{product_id}"
    cache = app.state.caches(PRODUCTS)
    await client.get(url)
    assert len(cache) == 1 and cache.enabled
    flushes = cache.flushes
    await db_conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
        " AND datname = current_database()", (APPLICATION_NAME,))
    # Dropped at once, then flushed again when LISTEN is back: two flushes, caching again.
    await eventually(lambda: cache.flushes >= flushes + 2 and cache.enabled)
    assert len(cache) == 0
    await client.get(url)
    assert (await client.get(url)).status_code == 200 and len(cache) == 1
