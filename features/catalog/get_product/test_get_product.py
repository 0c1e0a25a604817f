"""get_product: GET /v1/products/{id} (anonymous, ETag, If-None-Match)."""

from __future__ import annotations

from uuid_utils.compat import uuid7

from tests.fixtures import problem


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
