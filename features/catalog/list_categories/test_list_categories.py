"""list_categories: GET /v1/categories (anonymous, counts cached with a TTL)."""

from __future__ import annotations

import asyncio

from uuid_utils.compat import uuid7

from features.catalog.caches import CATEGORIES
from features.catalog.list_categories import logic
from shared.app import create_app
from tests.fixtures import bearer, eventually, make_settings, problem, serve_in_loop


async def seed(db_conn, category: str, n: int = 1) -> list[str]:
    ids = [uuid7() for _ in range(n)]
    for product_id in ids:
        await db_conn.execute(
            "INSERT INTO catalog.products (id, sku, name, price_cents, currency, category,"
            " created_at, updated_at) VALUES (%s, %s, 'P', 100, 'EUR', %s, now(), now())",
            (product_id, f"SKU-{product_id.hex[-12:].upper()}", category))
    return [str(i) for i in ids]


def create(app, sku: str, category: str) -> dict:
    return {"headers": {**bearer(app), "Idempotency-Key": sku},
            "json": {"sku": sku, "name": "New", "price_cents": 100, "currency": "EUR",
                     "category": category}}


# -- logic (pure) ---------------------------------------------------------------------------

def test_a_client_may_keep_the_counts_only_for_what_is_left_of_the_ttl() -> None:
    assert logic.max_age(300, None) == 300
    assert logic.max_age(300, 299.5) == 0
    assert logic.max_age(300, 10.2) == 289
    assert logic.max_age(300, 400) == 0  # never negative


# -- HTTP, on a real database -----------------------------------------------------------------

async def test_an_empty_catalog_has_no_categories(client) -> None:
    response = await client.get("/v1/categories")
    assert response.status_code == 200 and response.json() == {"items": []}
    public, max_age = response.headers["cache-control"].split(", max-age=")
    assert public == "public" and 290 <= int(max_age) <= 300  # what is left of 300 s


async def test_counts_by_category_in_name_order_cached_until_a_product_is_created(
        app, client, db_conn) -> None:
    await seed(db_conn, "tea", 3)
    await seed(db_conn, "coffee", 2)
    first = await client.get("/v1/categories")
    assert first.json() == {"items": [{"category": "coffee", "product_count": 2},
                                      {"category": "tea", "product_count": 3}]}
    await seed(db_conn, "tea")  # behind the API's back: the cache does not know...
    assert (await client.get("/v1/categories")).json() == first.json()  # ...until the TTL
    assert app.state.caches(CATEGORIES).hits == 1
    assert (await client.post("/v1/products", **create(app, "NEW-1", "mugs"))).status_code == 201
    counts = (await client.get("/v1/categories")).json()["items"]
    assert counts == [{"category": "coffee", "product_count": 2},
                      {"category": "mugs", "product_count": 1},
                      {"category": "tea", "product_count": 4}]


async def test_a_category_change_in_another_instance_drops_the_counts_here(
        app, client, db_conn, settings, database_url) -> None:
    (product_id,) = await seed(db_conn, "tea")
    await seed(db_conn, "coffee")
    other = create_app(settings, database_url=database_url)
    async with serve_in_loop(other) as other_client:
        assert len((await client.get("/v1/categories")).json()["items"]) == 2
        cache = app.state.caches(CATEGORIES)
        renamed = await other_client.patch(f"/v1/products/{product_id}", json={"name": "x"},
                                           headers={**bearer(other), "If-Match": '"1"'})
        assert renamed.status_code == 200  # no category sent: the counts stay cached
        moved = await other_client.patch(f"/v1/products/{product_id}",
                                         json={"category": "coffee"},
                                         headers={**bearer(other), "If-Match": '"2"'})
        assert moved.status_code == 200
        await eventually(lambda: cache.invalidations == 1)
        assert (await client.get("/v1/categories")).json() == {
            "items": [{"category": "coffee", "product_count": 2}]}


async def test_concurrent_misses_share_one_count(app, client, db_conn) -> None:
    await seed(db_conn, "tea", 2)
    answers = await asyncio.gather(*(client.get("/v1/categories") for _ in range(8)))
    assert {a.content for a in answers} == {answers[0].content}
    cache = app.state.caches(CATEGORIES)
    assert cache.misses == 8 and cache.hits == 0  # all arrived before the first count ended
    assert (await client.get("/v1/categories")).status_code == 200 and cache.hits == 1


async def test_the_counts_are_at_most_the_ttl_old(database_url, db_conn) -> None:
    app = create_app(make_settings(category_cache_ttl=1), database_url=database_url)
    async with serve_in_loop(app) as client:
        await seed(db_conn, "tea")
        assert (await client.get("/v1/categories")).json()["items"][0]["product_count"] == 1
        await seed(db_conn, "tea")  # behind the API's back: only the TTL brings it in

        async def recounted() -> bool:
            answer = await client.get("/v1/categories")
            return answer.json()["items"][0]["product_count"] == 2

        await eventually(recounted, timeout=3)


async def test_only_get_and_head(client) -> None:
    problem(await client.post("/v1/categories", json={}), 405, "method-not-allowed")
    head = await client.head("/v1/categories")
    assert head.status_code == 200 and head.content == b""
    problem(await client.get("/v1/categories?q=%00"), 400, "validation-error")
