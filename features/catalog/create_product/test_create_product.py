"""create_product: POST /v1/products (admin, Idempotency-Key required)."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from features.catalog.create_product import logic
from features.catalog.create_product.schema import NewProduct
from shared.http.problems import Problem
from tests.fixtures import bearer, problem

VALID = {"sku": "TEA-001", "name": "Green tea", "price_cents": 450, "currency": "EUR",
         "category": "tea"}


def admin(app, key: str = "k-1") -> dict[str, str]:
    return {**bearer(app), "Idempotency-Key": key}


async def count(db_conn, table: str = "catalog.products") -> int:
    return (await (await db_conn.execute(f"SELECT count(*) AS n FROM {table}")).fetchone())["n"]


# -- logic (pure) ---------------------------------------------------------------------------

def test_new_product_trims_and_starts_at_version_1() -> None:
    product = logic.new_product(NewProduct(**{**VALID, "name": "  Green tea ",
                                              "category": " tea "}))
    assert (product.name, product.category, product.version) == ("Green tea", "tea", 1)
    assert product.id.version == 7 and product.created_at == product.updated_at
    assert product.description is None


@pytest.mark.parametrize(("field", "value"), [("name", "   "), ("category", " ")])
def test_new_product_rejects_blank_names(field, value) -> None:
    with pytest.raises(Problem) as caught:
        logic.new_product(NewProduct(**{**VALID, field: value}))
    assert caught.value.extensions["errors"][0]["pointer"] == f"#/{field}"


@pytest.mark.parametrize(("field", "value"), [("sku", "TEA-1\n"), ("currency", "EUR\n")])
def test_the_schema_refuses_a_sneaky_trailing_newline(field, value) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({**VALID, field: value}, NewProduct)


# -- HTTP, on a real database -----------------------------------------------------------------

async def test_creates_a_product_and_announces_it(app, client, db_conn) -> None:
    response = await client.post("/v1/products", json={**VALID, "description": "Sencha"},
                                 headers=admin(app))
    assert response.status_code == 201, response.text
    product = response.json()
    assert set(product) == {"id", "sku", "name", "description", "price_cents", "currency",
                            "category", "version", "created_at", "updated_at"}
    assert product["version"] == 1 and product["description"] == "Sencha"
    assert product["created_at"].endswith("Z")
    assert response.headers["location"] == f"/v1/products/{product['id']}"
    assert response.headers["etag"] == '"1"'
    fetched = await client.get(response.headers["location"])
    assert fetched.json() == product
    event = await (await db_conn.execute(
        "SELECT type, payload, traceparent FROM kernel.outbox_events WHERE aggregate_id = %s",
        (product["id"],))).fetchone()
    assert event["type"] == "ProductCreated"
    assert event["traceparent"] == response.headers["traceparent"]  # the request's trace
    assert event["payload"] == {"product_id": product["id"], "sku": "TEA-001",
                                "name": "Green tea", "description": "Sencha",
                                "price_cents": 450, "currency": "EUR", "category": "tea"}


async def test_ten_concurrent_creates_with_one_key_make_one_product(app, client,
                                                                    db_conn) -> None:
    headers = admin(app, "same-key")
    answers = await asyncio.gather(*(client.post("/v1/products", json=VALID, headers=headers)
                                     for _ in range(10)))
    assert {a.status_code for a in answers} <= {201, 409}
    created = [a for a in answers if a.status_code == 201]
    assert len({a.json()["id"] for a in created}) == 1
    assert len([a for a in created if "idempotent-replayed" not in a.headers]) == 1
    for a in answers:
        if a.status_code == 409:
            problem(a, 409, "idempotency-in-progress")
    assert await count(db_conn) == 1 and await count(db_conn, "kernel.outbox_events") == 1


async def test_a_duplicate_sku_is_409_and_leaves_nothing_behind(app, client, db_conn) -> None:
    assert (await client.post("/v1/products", json=VALID, headers=admin(app, "a"))) \
        .status_code == 201
    problem(await client.post("/v1/products", json={**VALID, "name": "Other"},
                              headers=admin(app, "b")), 409, "conflict")
    assert await count(db_conn) == 1 and await count(db_conn, "kernel.outbox_events") == 1


async def test_two_creates_of_one_sku_at_once_one_wins(app, client, db_conn) -> None:
    answers = await asyncio.gather(*(client.post("/v1/products", json=VALID,
                                                 headers=admin(app, f"key-{i}"))
                                     for i in range(4)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    assert await count(db_conn) == 1 and await count(db_conn, "kernel.outbox_events") == 1


# One database for all the cases: each would otherwise pay for a fresh one.
INVALID = [
    ({"price_cents": -1}, "#/price_cents"),
    ({"price_cents": 0}, "#/price_cents"),
    ({"price_cents": 10**15 + 1}, "#/price_cents"),
    ({"price_cents": 2**70}, "#/price_cents"),
    ({"price_cents": "cheap"}, "#/price_cents"),
    ({"price_cents": None}, "#/price_cents"),
    ({"name": 42}, "#/name"),
    ({"price_cents": 4.5}, "#/price_cents"),
    ({"price_cents": True}, "#/price_cents"),
    ({"currency": "eur"}, "#/currency"),
    ({"currency": "EURO"}, "#/currency"),
    ({"currency": "ZZZ"}, "#/currency"),  # three letters, but no ISO 4217 currency
    ({"currency": "XAU"}, "#/currency"),  # gold is a code, not money one prices in
    ({"sku": "tea-1"}, "#/sku"),
    ({"sku": "T" * 65}, "#/sku"),
    ({"sku": ""}, "#/sku"),
    ({"name": ""}, "#/name"),
    ({"name": "n" * 201}, "#/name"),
    ({"description": "d" * 5001}, "#/description"),
    ({"category": "c" * 65}, "#/category"),
    ({"colour": "green"}, "#/colour"),
]


async def test_invalid_bodies_are_400_with_a_pointer(app, client, db_conn) -> None:
    for change, pointer in INVALID:
        response = await client.post("/v1/products", json={**VALID, **change},
                                     headers=admin(app))
        body = problem(response, 400, "validation-error")
        assert body["errors"][0]["pointer"] == pointer, (change, body)
    problem(await client.post("/v1/products", json={**VALID, "description": "d" * 2**20},
                              headers=admin(app)), 413, "payload-too-large")
    assert await count(db_conn) == 0


async def test_a_missing_field_is_400(app, client) -> None:
    body = {k: v for k, v in VALID.items() if k != "currency"}
    problem(await client.post("/v1/products", json=body, headers=admin(app)),
            400, "validation-error")


async def test_only_admins_create_and_a_key_is_required(app, client, db_conn) -> None:
    problem(await client.post("/v1/products", json=VALID, headers={"Idempotency-Key": "k"}),
            401, "unauthenticated")
    problem(await client.post("/v1/products", json=VALID,
                              headers={**bearer(app, "customer"), "Idempotency-Key": "k"}),
            403, "forbidden")
    problem(await client.post("/v1/products", json=VALID, headers=bearer(app)),
            400, "idempotency-key-missing")
    assert await count(db_conn) == 0
