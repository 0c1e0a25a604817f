"""place_order: POST /v1/orders (a user, Idempotency-Key required)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from uuid_utils.compat import uuid7

from features.ordering.place_order import logic
from features.ordering.place_order.schema import ItemRequest
from shared.http.problems import Problem
from tests.fixtures import bearer, problem
from tests.saga import events_of, product


def order_headers(app, key: str = "order-1", user_id=None) -> dict[str, str]:
    return {**bearer(app, "customer", user_id), "Idempotency-Key": key}


# -- logic (pure) ---------------------------------------------------------------------------

def test_the_total_is_the_sum_of_quantity_times_known_price() -> None:
    a, b, user = uuid7(), uuid7(), uuid7()
    order = logic.price_order(user, [ItemRequest(a, 2), ItemRequest(b, 1)], {
        a: logic.Price(250, "EUR"), b: logic.Price(1000, "EUR")})
    assert (order.total_cents, order.currency, order.status, order.version) == \
        (1500, "EUR", "pending", 1)
    assert [(i.product_id, i.quantity, i.unit_price_cents) for i in order.items] == \
        [(a, 2, 250), (b, 1, 1000)]
    assert order.user_id == user and order.created_at == order.updated_at


@pytest.mark.parametrize(("prices", "pointer"), [
    ({}, "#/items/0/product_id"),  # unknown product
    ("mixed", "#/items/1/product_id"),
    ("huge", "#/items"),  # over 2^53 - 1
])
def test_unorderable_items_are_422_pointing_at_the_item(prices, pointer) -> None:
    a, b = uuid7(), uuid7()
    items = [ItemRequest(a, 1000), ItemRequest(b, 1000)]
    if prices == "mixed":
        prices = {a: logic.Price(1, "EUR"), b: logic.Price(1, "USD")}
    elif prices == "huge":
        prices = {a: logic.Price(10**13, "EUR"), b: logic.Price(10**13, "EUR")}
    with pytest.raises(Problem) as caught:
        logic.price_order(uuid7(), items, prices)
    assert caught.value.status == 422
    assert caught.value.extensions["errors"][0]["pointer"] == pointer


def test_the_largest_exact_total_is_accepted() -> None:
    a = uuid7()
    order = logic.price_order(uuid7(), [ItemRequest(a, 1)],
                              {a: logic.Price(logic.MAX_TOTAL_CENTS, "EUR")})
    assert order.total_cents == 2**53 - 1


def test_a_repeated_product_is_400_at_its_second_line() -> None:
    a, b = uuid7(), uuid7()
    with pytest.raises(Problem) as caught:
        logic.refuse_repeats([ItemRequest(a, 1), ItemRequest(b, 1), ItemRequest(a, 2)])
    assert caught.value.status == 400
    assert caught.value.extensions["errors"][0]["pointer"] == "#/items/2/product_id"


# -- HTTP, on a real database -----------------------------------------------------------------

async def test_places_a_pending_order_and_publishes_it(app, client, db_conn) -> None:
    tea, cup = await product(db_conn, price_cents=450), await product(db_conn, price_cents=1200)
    user = uuid7()
    response = await client.post("/v1/orders", headers=order_headers(app, user_id=user), json={
        "items": [{"product_id": str(tea), "quantity": 3}, {"product_id": str(cup),
                                                            "quantity": 1}]})
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "pending" and order["user_id"] == str(user)
    assert order["total_cents"] == 3 * 450 + 1200 and order["currency"] == "EUR"
    assert order["items"] == [
        {"product_id": str(tea), "quantity": 3, "unit_price_cents": 450},
        {"product_id": str(cup), "quantity": 1, "unit_price_cents": 1200}]
    assert order["rejection_reason"] is None and order["version"] == 1
    assert order["created_at"].endswith("Z")
    assert response.headers["location"] == f"/v1/orders/{order['id']}"
    assert response.headers["etag"] == '"1"'
    assert await events_of(db_conn, order["id"]) == ["OrderPlaced"]
    cur = await db_conn.execute("SELECT payload FROM kernel.outbox_events WHERE aggregate_id"
                                " = %s", (order["id"],))
    assert (await cur.fetchone())["payload"] == {
        "order_id": order["id"], "user_id": str(user), "lines": [
            {"product_id": str(tea), "quantity": 3}, {"product_id": str(cup), "quantity": 1}]}


async def test_ten_concurrent_submits_with_one_key_place_one_order(app, client,
                                                                   db_conn) -> None:
    tea = await product(db_conn)
    headers = order_headers(app, "same-key", user_id=uuid7())
    body = {"items": [{"product_id": str(tea), "quantity": 1}]}
    answers = await asyncio.gather(*(client.post("/v1/orders", json=body, headers=headers)
                                     for _ in range(10)))
    assert {a.status_code for a in answers} <= {201, 409}
    placed = [a for a in answers if a.status_code == 201]
    assert len({a.json()["id"] for a in placed}) == 1
    for a in answers:
        if a.status_code == 409:
            problem(a, 409, "idempotency-in-progress")
    again = await client.post("/v1/orders", json=body, headers=headers)
    assert again.headers["idempotent-replayed"] == "true" and again.json() == placed[0].json()
    cur = await db_conn.execute("SELECT count(*) AS n FROM ordering.orders")
    assert (await cur.fetchone())["n"] == 1
    cur = await db_conn.execute("SELECT count(*) AS n FROM kernel.outbox_events"
                                " WHERE type = 'OrderPlaced'")
    assert (await cur.fetchone())["n"] == 1


async def test_two_customers_ordering_at_once_each_get_their_own_order(app, client,
                                                                       db_conn) -> None:
    tea = await product(db_conn)
    body = {"items": [{"product_id": str(tea), "quantity": 1}]}
    first, second = await asyncio.gather(*(
        client.post("/v1/orders", json=body, headers=order_headers(app, "k", user_id=uuid7()))
        for _ in range(2)))  # the same key, but keys belong to their caller
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


async def test_malformed_orders_are_400_with_pointers(app, client, db_conn) -> None:
    tea = str(await product(db_conn))
    item = {"product_id": tea, "quantity": 1}
    cases = [
        ({"items": []}, "#/items"),
        ({"items": [{"product_id": str(uuid7()), "quantity": 1} for _ in range(51)]}, "#/items"),
        ({"items": [{**item, "quantity": 0}]}, "#/items/0/quantity"),
        ({"items": [{**item, "quantity": 1001}]}, "#/items/0/quantity"),
        ({"items": [{**item, "quantity": "2"}]}, "#/items/0/quantity"),
        ({"items": [{**item, "quantity": 1.5}]}, "#/items/0/quantity"),
        ({"items": [{"product_id": "tea", "quantity": 1}]}, "#/items/0/product_id"),
        ({"items": [item, {**item, "quantity": 2}]}, "#/items/1/product_id"),
        ({"items": [{**item, "price_cents": 1}]}, "#/items/0/price_cents"),
        ({"items": [item], "coupon": "FREE"}, "#/coupon"),
        ({}, "#/items"),
    ]
    for body, pointer in cases:
        answer = problem(await client.post("/v1/orders", json=body, headers=order_headers(app)),
                         400, "validation-error")
        assert answer["errors"][0]["pointer"] == pointer, body
    problem(await client.post("/v1/orders", content=b'{"items": [', headers={
        **order_headers(app), "content-type": "application/json"}), 400, "validation-error")
    problem(await client.post("/v1/orders", json={"items": [item]},
                              headers=bearer(app, "customer")), 400, "idempotency-key-missing")
    problem(await client.post("/v1/orders", json={"items": [item]},
                              headers={"Idempotency-Key": "x"}), 401, "unauthenticated")
    cur = await db_conn.execute("SELECT count(*) AS n FROM ordering.orders")
    assert (await cur.fetchone())["n"] == 0


async def test_unknown_products_mixed_currencies_and_huge_totals_are_422(app, client,
                                                                         db_conn) -> None:
    eur = str(await product(db_conn, currency="EUR"))
    usd = str(await product(db_conn, currency="USD"))
    dear = [str(await product(db_conn, price_cents=10**15)) for _ in range(50)]
    cases = [
        ([{"product_id": eur, "quantity": 1}, {"product_id": str(uuid7()), "quantity": 1}],
         "#/items/1/product_id"),
        ([{"product_id": eur, "quantity": 1}, {"product_id": usd, "quantity": 1}],
         "#/items/1/product_id"),
        # 1000 x 50 lines x 10^15 = 5 x 10^19: more than a bigint holds, let alone 2^53 - 1
        ([{"product_id": p, "quantity": 1000} for p in dear], "#/items"),
    ]
    for n, (items, pointer) in enumerate(cases):
        answer = problem(await client.post("/v1/orders", json={"items": items},
                                           headers=order_headers(app, f"k-{n}")),
                         422, "unprocessable")
        assert answer["errors"][0]["pointer"] == pointer
    cur = await db_conn.execute("SELECT count(*) AS n FROM ordering.orders")
    assert (await cur.fetchone())["n"] == 0
    assert await events_of(db_conn, eur) == []


async def test_the_database_refuses_a_line_for_an_unknown_or_repeated_product(db_conn) -> None:
    tea, order_id = await product(db_conn), uuid7()
    await db_conn.execute(
        "INSERT INTO ordering.orders (id, user_id, status, total_cents, currency, created_at,"
        " updated_at) VALUES (%s, %s, 'pending', 1, 'EUR', now(), now())", (order_id, uuid7()))
    line = ("INSERT INTO ordering.order_lines (order_id, position, product_id, quantity,"
            " unit_price_cents) VALUES (%s, %s, %s, 1, 1)")
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        await db_conn.execute(line, (order_id, 0, uuid7()))
    await db_conn.execute(line, (order_id, 0, tea))
    with pytest.raises(psycopg.errors.UniqueViolation):
        await db_conn.execute(line, (order_id, 1, tea))
    with pytest.raises(psycopg.errors.CheckViolation):
        await db_conn.execute("UPDATE ordering.orders SET total_cents = 9007199254740992"
                              " WHERE id = %s", (order_id,))
