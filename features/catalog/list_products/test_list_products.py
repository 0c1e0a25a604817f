"""list_products: GET /v1/products (anonymous, cursor pages, optional category)."""

from __future__ import annotations

import asyncio

from uuid_utils.compat import uuid7

from tests.fixtures import bearer, page_through, problem


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
