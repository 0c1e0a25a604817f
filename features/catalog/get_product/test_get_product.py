"""get_product: GET /v1/products/{id} (anonymous, ETag, If-None-Match)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from uuid_utils.compat import uuid7

from tests.fixtures import bearer, problem


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

    async def update() -> None:
        for version in range(1, 21):
            changed = await client.patch(url, json={"name": f"Mug {version + 1}",
                                                    "price_cents": 1000 + version + 1},
                                         headers={**bearer(app), "If-Match": f'"{version}"'})
            assert changed.status_code == 200, changed.text
            after = await client.get(url)  # started after the PATCH answered: read-your-writes
            assert after.json()["version"] == version + 1

    async def read() -> list:
        return [await client.get(url) for _ in range(30)]

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
