"""list_products: GET /v1/products (anonymous, cursor pages, optional category)."""

from __future__ import annotations

import asyncio

import pytest
from uuid_utils.compat import uuid7

from features.catalog.caches import PAGES
from shared.app import create_app
from shared.cache import EVERY_KEY
from tests.fixtures import bearer, eventually, page_through, problem, serve_in_loop


async def seed_products(db_conn, n: int, category: str = "tea", start: int = 0) -> list[str]:
    """n products in one statement; ids come from Python (UUIDv7), newest last."""
    ids = [uuid7() for _ in range(n)]
    await db_conn.execute(
        "INSERT INTO catalog.products (id, sku, name, price_cents, currency, category,"
        " created_at, updated_at)"
        " SELECT id, 'SKU-' || (n + %s), 'Product ' || n, 100 + n, 'EUR', %s, now(), now()"
        " FROM unnest(%s::uuid[]) WITH ORDINALITY AS t(id, n)", (start, category, ids))
    return [str(i) for i in ids]


async def test_ten_thousand_products_page_out_each_exactly_once(client, db_conn) -> None:
    ids = await seed_products(db_conn, 10_000)
    seen, pages = await page_through(client, "/v1/products", {"limit": 100})
    assert pages == 100
    assert len(seen) == len(set(seen)) == 10_000
    assert seen == ids[::-1]  # newest first


async def test_the_category_filter_pages_only_that_category(client, db_conn) -> None:
    tea = await seed_products(db_conn, 25, "tea")
    await seed_products(db_conn, 30, "coffee", start=100)
    seen, pages = await page_through(client, "/v1/products", {"limit": 10, "category": "tea"})
    assert pages == 3 and seen == tea[::-1]
    first = (await client.get("/v1/products")).json()
    assert len(first["items"]) == 20 and first["next_cursor"]  # the default limit
    # Categories are stored trimmed, and the filter is trimmed the same way.
    padded, _ = await page_through(client, "/v1/products", {"limit": 10, "category": " tea "})
    assert padded == seen


async def test_an_empty_catalog_is_an_empty_page(client) -> None:
    response = await client.get("/v1/products")
    assert response.json() == {"items": [], "next_cursor": None}


async def test_bad_limits_are_400_naming_the_parameter(client) -> None:
    for limit in ("0", "101", "abc", "-1", "1.5", ""):
        body = problem(await client.get("/v1/products", params={"limit": limit}),
                       400, "validation-error")
        assert body["errors"][0]["parameter"] == "limit", limit


async def test_forged_and_foreign_cursors_are_400(client, db_conn) -> None:
    await seed_products(db_conn, 3, "tea")
    cursor = (await client.get("/v1/products", params={"limit": 1})).json()["next_cursor"]
    encoded, mac = cursor.split(".")
    forged = encoded[:-2] + ("AA" if encoded[-2:] != "AA" else "BB") + "." + mac
    for params in ({"cursor": forged}, {"cursor": "garbage"}, {"cursor": cursor + "x"},
                   # text that is not ASCII, in the signature or in the body
                   {"cursor": encoded + ".é"}, {"cursor": "é." + mac},
                   # a cursor of the unfiltered list cannot continue a filtered one
                   {"cursor": cursor, "category": "tea"}):
        body = problem(await client.get("/v1/products", params=params), 400, "validation-error")
        assert body["errors"][0]["parameter"] == "cursor", params
    for raw in ("e30.%ED%A0%80", "%FF%FE.abc", "e30.%00"):  # broken UTF-8, NUL
        body = problem(await client.get(f"/v1/products?cursor={raw}"), 400, "validation-error")
        assert body["errors"][0]["parameter"] == "cursor", raw
    for blank in ("", "   "):
        body = problem(await client.get("/v1/products", params={"category": blank}),
                       400, "validation-error")
        assert body["errors"][0]["parameter"] == "category", blank


async def test_paging_while_products_are_added_lists_each_earlier_one_once(client,
                                                                           db_conn) -> None:
    ids = await seed_products(db_conn, 200)
    paged = asyncio.Event()
    added: list[str] = []

    async def page() -> list[str]:
        try:
            return (await page_through(client, "/v1/products", {"limit": 5}))[0]
        finally:
            paged.set()

    async def add() -> None:  # newer products keep arriving until the last page is read
        while not paged.is_set():
            added.extend(await seed_products(db_conn, 1, start=1000 + len(added)))
            await asyncio.sleep(0.001)

    seen, _ = await asyncio.gather(page(), add())
    assert len(seen) == len(set(seen))  # no duplicates
    assert [i for i in seen if i in set(ids)] == ids[::-1]  # every earlier one, newest first
    assert len([i for i in added if i not in seen]) >= 5  # they did arrive during the paging


async def test_a_create_refused_for_its_sku_is_not_listed(app, client) -> None:
    valid = {"sku": "TEA-1", "name": "Tea", "price_cents": 450, "currency": "EUR",
             "category": "tea"}
    first = await client.post("/v1/products", json=valid,
                              headers={**bearer(app), "Idempotency-Key": "a"})
    assert first.status_code == 201, first.text
    problem(await client.post("/v1/products", json={**valid, "name": "Other tea"},
                              headers={**bearer(app), "Idempotency-Key": "b"}), 409, "conflict")
    for params in ({}, {"category": "tea"}):
        listed = (await client.get("/v1/products", params=params)).json()
        assert listed == {"items": [first.json()], "next_cursor": None}, params


# -- the page cache ---------------------------------------------------------------------------

KERNEL_HEADERS = {"x-request-id", "traceparent", "ratelimit"}  # differ on every answer


def same_answer(a, b) -> bool:
    return a.content == b.content and (
        {k: v for k, v in a.headers.items() if k not in KERNEL_HEADERS}
        == {k: v for k, v in b.headers.items() if k not in KERNEL_HEADERS})


async def create(app, client, sku: str) -> dict:
    made = await client.post("/v1/products", json={
        "sku": sku, "name": f"Tea {sku}", "price_cents": 450, "currency": "EUR",
        "category": "tea"}, headers={**bearer(app), "Idempotency-Key": sku})
    assert made.status_code == 201, made.text
    return made.json()


async def test_a_cached_page_is_the_same_answer_and_a_create_or_update_drops_every_page(
        app, client, db_conn) -> None:
    await seed_products(db_conn, 5)
    cache = app.state.caches(PAGES)
    first = await client.get("/v1/products", params={"limit": 2})
    cursor = first.json()["next_cursor"]
    deeper = await client.get("/v1/products", params={"limit": 2, "cursor": cursor})
    assert same_answer(first, await client.get("/v1/products", params={"limit": 2}))
    assert same_answer(deeper, await client.get("/v1/products",
                                                params={"limit": 2, "cursor": cursor}))
    assert (cache.misses, cache.hits, len(cache)) == (2, 2, 2)
    assert first.headers["link"] and deeper.headers["link"]  # cached with the page

    made = await create(app, client, "NEW-1")
    assert len(cache) == 0  # a create can change every page
    assert (await client.get("/v1/products", params={"limit": 2})).json()["items"][0] == made

    listed = (await client.get("/v1/products", params={"limit": 2, "cursor": cursor})).json()
    target = listed["items"][0]  # on a deeper page, cached again just now
    changed = await client.patch(f"/v1/products/{target['id']}", json={"name": "Renamed"},
                                 headers={**bearer(app), "If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    listed = (await client.get("/v1/products", params={"limit": 2, "cursor": cursor})).json()
    assert listed["items"][0]["name"] == "Renamed" and listed["items"][0]["version"] == 2


async def test_each_writer_lists_its_own_product_while_others_list_and_create_at_once(
        app, client) -> None:
    """Reads racing creates: a read that refilled a page between a create's drop and its commit
    must not be what the creator sees right after its 201."""
    async def writer(i: int) -> None:
        made = await create(app, client, f"RACE-{i}")
        listed = (await client.get("/v1/products", params={"limit": 100})).json()["items"]
        assert made in listed, i

    async def reader() -> None:
        for _ in range(10):
            assert (await client.get("/v1/products", params={"limit": 100})).status_code == 200

    await asyncio.gather(*(writer(i) for i in range(12)), *(reader() for _ in range(4)))
    listed = (await client.get("/v1/products", params={"limit": 100})).json()["items"]
    assert sorted(p["sku"] for p in listed) == sorted(f"RACE-{i}" for i in range(12))


async def test_a_page_read_between_a_writers_drop_and_its_commit_goes_at_the_commit(
        app, client, db_conn) -> None:
    await seed_products(db_conn, 2)
    caches, cache = app.state.caches, app.state.caches(PAGES)
    async with app.state.db.transaction() as tx:
        await caches.invalidate(tx, PAGES, EVERY_KEY)
        # A read in this process now sees the database as it was, and caches that page...
        assert len((await client.get("/v1/products")).json()["items"]) == 2
        assert len(cache) == 1
    assert len(cache) == 0  # ...which the commit drops, before the writer answers


@pytest.fixture
async def replica(settings, database_url):
    """A second instance of the service on the same database: another process, in effect."""
    other = create_app(settings, database_url=database_url)
    async with serve_in_loop(other) as other_client:
        yield other, other_client


async def test_a_create_here_drops_the_pages_another_instance_holds(app, client, db_conn,
                                                                    replica) -> None:
    other, other_client = replica
    await seed_products(db_conn, 3)
    cache = other.state.caches(PAGES)
    before = await other_client.get("/v1/products")
    assert same_answer(before, await other_client.get("/v1/products")) and cache.hits == 1
    made = await create(app, client, "ELSEWHERE-1")
    await eventually(lambda: cache.invalidations >= 1)
    after = (await other_client.get("/v1/products")).json()["items"]
    assert after[0] == made and len(after) == 4


async def test_a_refused_cursor_is_never_cached(app, client, db_conn) -> None:
    await seed_products(db_conn, 3)
    cache = app.state.caches(PAGES)
    for _ in range(2):
        problem(await client.get("/v1/products", params={"cursor": "garbage.sig"}),
                400, "validation-error")
        problem(await client.get("/v1/products", params={"category": "   "}),
                400, "validation-error")
    assert len(cache) == 0
