"""update_product: PATCH /v1/products/{id} (admin, If-Match required)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from msgspec import UNSET
from uuid_utils.compat import uuid7

from features.catalog.update_product import logic
from features.catalog.update_product.schema import ProductChanges
from shared.http.problems import Problem
from tests.fixtures import bearer, eventually, problem


async def seed_product(db_conn) -> str:
    product_id = uuid7()
    await db_conn.execute(
        "INSERT INTO catalog.products (id, sku, name, description, price_cents, currency,"
        " category, created_at, updated_at) VALUES (%s, 'MUG-1', 'Mug', 'Blue', 1299, 'EUR',"
        " 'kitchen', now() - interval '1 day', now() - interval '1 day')", (product_id,))
    return str(product_id)


def admin(app, if_match: str | None = '"1"') -> dict[str, str]:
    return {**bearer(app), **({"If-Match": if_match} if if_match is not None else {})}


# -- logic (pure) ---------------------------------------------------------------------------

def test_changes_keep_what_was_not_sent_and_null_clears_the_description() -> None:
    changes = logic.changes(ProductChanges(price_cents=999, description=None))
    assert (changes.name, changes.price_cents, changes.category) == (None, 999, None)
    assert changes.replace_description and changes.description is None
    kept = logic.changes(ProductChanges(name=" Cup "))
    assert kept.name == "Cup" and not kept.replace_description


@pytest.mark.parametrize("data", [ProductChanges(), ProductChanges(name="  "),
                                  ProductChanges(category="", price_cents=UNSET)])
def test_changes_refuse_an_empty_or_blank_update(data) -> None:
    with pytest.raises(Problem) as caught:
        logic.changes(data)
    assert caught.value.status == 400


# -- HTTP, on a real database -----------------------------------------------------------------

async def test_an_update_bumps_the_version_and_announces_the_new_price(app, client,
                                                                       db_conn) -> None:
    product_id = await seed_product(db_conn)
    response = await client.patch(f"/v1/products/{product_id}", headers=admin(app),
                                  json={"price_cents": 1499, "name": "Big mug"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.headers["etag"] == '"2"' and body["version"] == 2
    assert (body["name"], body["price_cents"], body["description"]) == ("Big mug", 1499, "Blue")
    assert body["updated_at"] > body["created_at"]
    event = await (await db_conn.execute(
        "SELECT type, payload FROM kernel.outbox_events WHERE aggregate_id = %s",
        (product_id,))).fetchone()
    assert event["type"] == "ProductUpdated"
    assert event["payload"] == {"product_id": product_id, "name": "Big mug",
                                "description": "Blue", "price_cents": 1499, "currency": "EUR",
                                "category": "kitchen", "version": 2}
    cleared = await client.patch(f"/v1/products/{product_id}", headers=admin(app, '"2"'),
                                 json={"description": None})
    assert cleared.json()["description"] is None and cleared.headers["etag"] == '"3"'


async def test_eight_concurrent_updates_with_one_etag_one_wins(app, client, db_conn) -> None:
    product_id = await seed_product(db_conn)
    answers = await asyncio.gather(*(
        client.patch(f"/v1/products/{product_id}", headers=admin(app),
                     json={"price_cents": 1000 + i}) for i in range(8)))
    assert sorted(a.status_code for a in answers) == [200] + [412] * 7
    winner = next(a for a in answers if a.status_code == 200).json()
    for a in answers:
        if a.status_code == 412:
            problem(a, 412, "precondition-failed")
            assert a.headers["etag"] == '"2"'  # where to start again
    row = await (await db_conn.execute(
        "SELECT version, price_cents FROM catalog.products WHERE id = %s",
        (product_id,))).fetchone()
    assert (row["version"], row["price_cents"]) == (2, winner["price_cents"])
    events = await (await db_conn.execute(
        "SELECT count(*) AS n FROM kernel.outbox_events WHERE type = 'ProductUpdated'")).fetchone()
    assert events["n"] == 1


async def test_if_match_is_required_and_checked(app, client, db_conn) -> None:
    product_id = await seed_product(db_conn)
    url = f"/v1/products/{product_id}"
    problem(await client.patch(url, headers=admin(app, None), json={"name": "x"}),
            428, "precondition-required")
    problem(await client.patch(url, headers=admin(app, "*"), json={"name": "x"}),
            428, "precondition-required")
    for stale in ('"2"', 'W/"1"', '"abc"'):
        problem(await client.patch(url, headers=admin(app, stale), json={"name": "x"}),
                412, "precondition-failed")
    body = problem(await client.patch(url, headers=admin(app, "1"), json={"name": "x"}),
                   400, "validation-error")
    assert body["errors"][0]["parameter"] == "If-Match"
    assert (await client.patch(url, headers=admin(app, '"0", "1"'), json={"name": "x"})) \
        .status_code == 200
    # A list sent as two field lines is the same list (RFC 9110 5.3): "2" is now current.
    lines = [*bearer(app).items(), ("If-Match", '"0"'), ("If-Match", '"2"')]
    assert (await client.patch(url, headers=lines, json={"name": "y"})).status_code == 200


async def test_bad_bodies_ids_and_callers(app, client, db_conn) -> None:
    product_id = await seed_product(db_conn)
    url = f"/v1/products/{product_id}"
    for body, pointer in (({"sku": "NEW-1"}, "#/sku"), ({"currency": "USD"}, "#/currency"),
                          ({"price_cents": -5}, "#/price_cents"), ({"name": None}, "#/name"),
                          ({"category": "c" * 65}, "#/category"), ({}, "#")):
        answer = problem(await client.patch(url, headers=admin(app), json=body),
                         400, "validation-error")
        assert answer["errors"][0]["pointer"] == pointer, body
    problem(await client.patch(url, headers=admin(app), json={"description": "d" * 2**20}),
            413, "payload-too-large")
    problem(await client.patch(f"/v1/products/{uuid7()}", headers=admin(app),
                               json={"name": "x"}), 404, "not-found")
    problem(await client.patch("/v1/products/nope", headers=admin(app), json={"name": "x"}),
            404, "not-found")
    problem(await client.patch(url, headers={**bearer(app, "customer"), "If-Match": '"1"'},
                               json={"name": "x"}), 403, "forbidden")
    problem(await client.patch(url, headers={"If-Match": '"1"'}, json={"name": "x"}),
            401, "unauthenticated")
    row = await (await db_conn.execute(
        "SELECT version, name FROM catalog.products WHERE id = %s", (product_id,))).fetchone()
    assert (row["version"], row["name"]) == (1, "Mug")


# What the schema and logic stop before a PATCH reaches SQL, the table refuses by itself.
REFUSED = [("price_cents", 0), ("price_cents", -1), ("name", ""), ("name", "n" * 201),
           ("description", "d" * 5001), ("category", ""), ("category", "c" * 65),
           ("version", 0), ("sku", "mug-1"), ("currency", "EURO")]


async def test_the_table_refuses_what_validation_normally_stops(db_conn) -> None:
    product_id = await seed_product(db_conn)
    for column, value in REFUSED:
        with pytest.raises(psycopg.errors.CheckViolation):
            await db_conn.execute(f"UPDATE catalog.products SET {column} = %s WHERE id = %s",
                                  (value, product_id))
    row = await (await db_conn.execute(
        "SELECT version, name, price_cents FROM catalog.products WHERE id = %s",
        (product_id,))).fetchone()
    assert (row["version"], row["name"], row["price_cents"]) == (1, "Mug", 1299)


async def test_an_update_of_a_product_deleted_meanwhile_is_404(app, client, database_url,
                                                               db_conn) -> None:
    product_id = await seed_product(db_conn)
    async with await psycopg.AsyncConnection.connect(database_url) as other:
        async with other.transaction():
            await other.execute("DELETE FROM catalog.products WHERE id = %s", (product_id,))
            patching = asyncio.create_task(client.patch(
                f"/v1/products/{product_id}", headers=admin(app), json={"name": "x"}))

            async def waiting_for_the_row() -> bool:  # the PATCH's UPDATE waits on our lock
                row = await (await db_conn.execute(
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE datname ="
                    " current_database() AND wait_event_type = 'Lock'")).fetchone()
                return row["n"] == 1

            await eventually(waiting_for_the_row)
        problem(await patching, 404, "not-found")
    events = await (await db_conn.execute(
        "SELECT count(*) AS n FROM kernel.outbox_events")).fetchone()
    assert events["n"] == 0
