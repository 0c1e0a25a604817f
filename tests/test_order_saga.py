"""The order saga end to end: ordering and inventory talking only through the outbox.

Through HTTP with the real relay (the last units, cancellation), and through the handlers in
every order of arrival the bus allows (tests/saga.py), checked against the stock invariant.
"""

from __future__ import annotations

import asyncio
import random

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from psycopg.rows import dict_row
from uuid_utils.compat import uuid7

from features.ordering.mark_paid.handler import PaymentSucceeded, mark_paid
from tests.fixtures import Api, bearer, eventually, make_settings, problem
from tests.saga import Deliveries, events_of, order_status, product, stock

RESERVING = ("confirmed", "paid")  # the statuses whose orders hold a reservation


async def assert_invariant(db_conn) -> None:
    """At quiescence, for every product: reserved = what confirmed or paid orders hold;
    on_hand = adjustments - shipments; nothing negative; no order still pending; no
    reservation held by a cancelled or rejected order."""
    cur = await db_conn.execute("""
        SELECT s.product_id, s.on_hand, s.reserved,
               coalesce((SELECT sum(l.quantity) FROM ordering.order_lines l
                         JOIN ordering.orders o ON o.id = l.order_id
                         WHERE l.product_id = s.product_id AND o.status = ANY(%s)), 0)
                   AS held,
               coalesce((SELECT sum(a.delta) FROM inventory.adjustments a
                         WHERE a.product_id = s.product_id), 0)
               - coalesce((SELECT sum(l.quantity) FROM ordering.order_lines l
                           JOIN ordering.orders o ON o.id = l.order_id
                           WHERE l.product_id = s.product_id AND o.status = 'shipped'), 0)
                   AS expected_on_hand
        FROM inventory.stock_levels s""", (list(RESERVING),))
    for row in await cur.fetchall():
        assert row["reserved"] == row["held"], row
        assert row["on_hand"] == row["expected_on_hand"], row
        assert row["on_hand"] >= row["reserved"] >= 0, row
    cur = await db_conn.execute("SELECT count(*) AS n FROM ordering.orders"
                                " WHERE status = 'pending'")
    assert (await cur.fetchone())["n"] == 0
    cur = await db_conn.execute("""
        SELECT o.id, o.status FROM ordering.orders o
        JOIN inventory.reservations r ON r.order_id = o.id
        WHERE o.status IN ('cancelled', 'rejected') AND r.status = 'reserved'""")
    assert await cur.fetchall() == []


async def stocked(db_conn, on_hand: int, **kwargs) -> object:
    """A product with `on_hand` units, recorded as an adjustment (as adjust_stock would)."""
    product_id = await product(db_conn, **kwargs)
    if on_hand:
        await db_conn.execute("UPDATE inventory.stock_levels SET on_hand = %s"
                              " WHERE product_id = %s", (on_hand, product_id))
        await db_conn.execute("INSERT INTO inventory.adjustments (id, product_id, delta, reason,"
                              " created_at) VALUES (%s, %s, %s, 'stock', now())",
                              (uuid7(), product_id, on_hand))
    return product_id


def order_body(*lines: tuple[object, int]) -> dict:
    return {"items": [{"product_id": str(p), "quantity": q} for p, q in lines]}


async def pay(database_url: str, order_id) -> None:
    """What the PaymentSucceeded delivery does to ordering (payments is its own module)."""
    async with await psycopg.AsyncConnection.connect(
            database_url, row_factory=dict_row) as tx, tx.transaction():
        await mark_paid(PaymentSucceeded(order_id, uuid7()), tx)


# -- through HTTP, the relay running ------------------------------------------------------------

class TestWithTheRelay:
    @pytest.fixture
    def settings(self):
        return make_settings(relay_enabled="true", outbox_poll_ms="100")

    async def test_24_concurrent_orders_for_the_last_5_units(self, app, client, db_conn) -> None:
        api = Api(client, "")
        admin = bearer(app)
        created = await client.post("/v1/products", headers={**admin, "Idempotency-Key": "p"},
                                    json={"sku": "LAST-5", "name": "Rare tea", "currency": "EUR",
                                          "price_cents": 900, "category": "tea"})
        product_id = created.json()["id"]
        stock_url = f"/v1/inventory/{product_id}"
        assert await eventually(lambda: _status(client, stock_url, 200))
        adjusted = await client.post(f"{stock_url}/adjustments", json={
            "delta": 5, "reason": "last delivery"}, headers={**admin, "Idempotency-Key": "a"})
        assert adjusted.status_code == 201
        cur = await db_conn.execute("SELECT 1 FROM ordering.product_prices WHERE product_id"
                                    " = %s", (product_id,))
        assert await eventually(lambda: _row(db_conn, product_id))
        answers = await asyncio.gather(*(client.post(
            "/v1/orders", json=order_body((product_id, 1)),
            headers={**bearer(app, "customer"), "Idempotency-Key": f"o-{i}"})
            for i in range(24)))
        assert [a.status_code for a in answers] == [201] * 24
        ids = [a.json()["id"] for a in answers]

        async def decided() -> list[str] | None:
            statuses = [await order_status(db_conn, i) for i in ids]
            return None if "pending" in statuses else statuses

        statuses = await eventually(decided, timeout=15)
        assert sorted(statuses) == ["confirmed"] * 5 + ["rejected"] * 19
        level = (await client.get(stock_url)).json()
        assert level == {"product_id": product_id, "on_hand": 5, "reserved": 5, "available": 0}
        rejected = next(a for a, s in zip(ids, statuses, strict=True) if s == "rejected")
        body = (await client.get(f"/v1/orders/{rejected}", headers=bearer(app))).json()
        assert body["rejection_reason"] == "insufficient_stock"
        await assert_invariant(db_conn)
        del api, cur

    async def test_cancelling_a_confirmed_order_gives_its_stock_back(self, app, client,
                                                                     db_conn) -> None:
        tea = await stocked(db_conn, 3)
        owner = uuid7()
        headers = bearer(app, "customer", owner)
        placed = await client.post("/v1/orders", json=order_body((tea, 2)),
                                   headers={**headers, "Idempotency-Key": "o"})
        url = f"/v1/orders/{placed.json()['id']}"
        assert await eventually(lambda: _field(client, url, headers, "status", "confirmed"))
        assert await stock(db_conn, tea) == (3, 2)
        cancelled = await client.post(f"{url}/cancel", headers=headers)
        assert cancelled.json()["status"] == "cancelled"
        assert await eventually(lambda: _stock_is(db_conn, tea, (3, 0)))
        await assert_invariant(db_conn)


async def _status(client, url, status) -> bool:
    return (await client.get(url)).status_code == status


async def _row(db_conn, product_id) -> bool:
    cur = await db_conn.execute("SELECT 1 FROM ordering.product_prices WHERE product_id = %s",
                                (product_id,))
    return await cur.fetchone() is not None


async def _field(client, url, headers, name, value) -> bool:
    return (await client.get(url, headers=headers)).json()[name] == value


async def _stock_is(db_conn, product_id, expected) -> bool:
    return await stock(db_conn, product_id) == expected


# -- through the handlers, in the order of arrival the test chooses -----------------------------

async def test_cancel_before_inventory_hears_of_the_order(app, client, database_url,
                                                          db_conn) -> None:
    """OrderCancelled reaches inventory first: the late OrderPlaced reserves nothing."""
    tea, owner = await stocked(db_conn, 5), uuid7()
    headers = bearer(app, "customer", owner)
    order = (await client.post("/v1/orders", json=order_body((tea, 2)),
                               headers={**headers, "Idempotency-Key": "o"})).json()
    await client.post(f"/v1/orders/{order['id']}/cancel", headers=headers)
    async with Deliveries(database_url) as bus:
        await bus.deliver("inventory.release_stock")
        await bus.deliver("inventory.reserve_stock")
        await bus.deliver()
    assert await stock(db_conn, tea) == (5, 0)
    assert await events_of(db_conn, order["id"]) == ["OrderPlaced", "OrderCancelled"]
    await assert_invariant(db_conn)


@pytest.mark.parametrize("confirmed_first", [True, False])
async def test_cancel_after_inventory_reserved(app, client, database_url, db_conn,
                                               confirmed_first) -> None:
    """Inventory reserved; the cancel lands before or after ordering heard StockReserved.
    Either way the stock comes back and the order stays cancelled."""
    tea, owner = await stocked(db_conn, 5), uuid7()
    headers = bearer(app, "customer", owner)
    order = (await client.post("/v1/orders", json=order_body((tea, 2)),
                               headers={**headers, "Idempotency-Key": "o"})).json()
    async with Deliveries(database_url) as bus:
        await bus.deliver("inventory.reserve_stock")
        assert await stock(db_conn, tea) == (5, 2)
        if confirmed_first:
            await bus.deliver("ordering.confirm_order")
            assert await order_status(db_conn, order["id"]) == "confirmed"
        cancelled = await client.post(f"/v1/orders/{order['id']}/cancel", headers=headers)
        assert cancelled.json()["status"] == "cancelled"
        await bus.deliver()  # StockReserved (if still pending) and OrderCancelled, any order
    assert await order_status(db_conn, order["id"]) == "cancelled"
    assert await stock(db_conn, tea) == (5, 0)
    await assert_invariant(db_conn)


async def test_redelivering_every_event_of_the_saga_changes_nothing(app, client, database_url,
                                                                     db_conn) -> None:
    tea, cup = await stocked(db_conn, 10), await stocked(db_conn, 10)
    owner = uuid7()
    headers = bearer(app, "customer", owner)
    ids = []
    for key, lines in (("a", [(tea, 2)]), ("b", [(tea, 1), (cup, 3)]), ("c", [(cup, 20)])):
        ids.append((await client.post("/v1/orders", json=order_body(*lines), headers={
            **headers, "Idempotency-Key": key})).json()["id"])
    async with Deliveries(database_url) as bus:
        await bus.deliver()
        await pay(database_url, ids[0])
        await pay(database_url, ids[1])
        shipped = await client.post(f"/v1/orders/{ids[0]}/ship", headers=bearer(app))
        assert shipped.status_code == 200
        too_late = await client.post(f"/v1/orders/{ids[1]}/cancel", headers=headers)
        assert too_late.status_code == 409  # paid
        await bus.deliver()
        before = [await stock(db_conn, tea), await stock(db_conn, cup)]
        assert before == [(8, 1), (10, 3)]
        published = [await events_of(db_conn, i) for i in ids]
        assert await bus.redeliver_all() >= 7  # every delivery of the three orders, again
    assert [await stock(db_conn, tea), await stock(db_conn, cup)] == before
    assert [await events_of(db_conn, i) for i in ids] == published
    assert [await order_status(db_conn, i) for i in ids] == ["shipped", "paid", "rejected"]
    await assert_invariant(db_conn)


async def test_another_users_order_is_invisible_everywhere(app, client, db_conn) -> None:
    tea = await stocked(db_conn, 1)
    mine = bearer(app, "customer")
    order = (await client.post("/v1/orders", json=order_body((tea, 1)), headers={
        **mine, "Idempotency-Key": "o"})).json()
    stranger = bearer(app, "customer")
    problem(await client.get(f"/v1/orders/{order['id']}", headers=stranger), 404, "not-found")
    problem(await client.post(f"/v1/orders/{order['id']}/cancel", headers=stranger),
            404, "not-found")
    assert (await client.get("/v1/orders", headers=stranger)).json()["items"] == []
    assert (await client.get("/v1/orders", headers=mine)).json()["items"][0]["id"] == order["id"]


# -- the model-based test: random programs, random order of arrival, redeliveries --------------

ACTION = st.one_of(
    st.tuples(st.just("place"), st.integers(0, 2),
              st.lists(st.tuples(st.integers(0, 2), st.integers(1, 4)), min_size=1,
                       max_size=3, unique_by=lambda line: line[0])),
    # -1 (the newest order) half the time: a move right after a placement is the racy case.
    st.tuples(st.sampled_from(["cancel", "pay", "ship"]),
              st.one_of(st.just(-1), st.integers(0, 20))),
    st.tuples(st.sampled_from(["deliver", "deliver", "redeliver"]), st.integers(0, 2**16)),
)


@hsettings(max_examples=30, deadline=None, derandomize=True,
           suppress_health_check=[HealthCheck.function_scoped_fixture,
                                  HealthCheck.too_slow])
@given(stock_levels=st.lists(st.integers(0, 6), min_size=3, max_size=3),
       program=st.lists(ACTION, min_size=1, max_size=20), drain_seed=st.integers(0, 2**16))
async def test_the_stock_invariant_holds_for_any_program_and_order_of_arrival(
        app, client, database_url, db_conn, stock_levels, program, drain_seed) -> None:
    # One database for every example: each example has products of its own, and the previous
    # example was drained, so the invariant is checked over all of them.
    products = [await stocked(db_conn, n) for n in stock_levels]
    users = [uuid7() for _ in range(3)]
    orders: list[tuple[str, object]] = []
    async with Deliveries(database_url) as bus:
        for step in program:
            await run(step, app, client, database_url, bus, products, users, orders)
        await bus.drain(random.Random(drain_seed))  # what is left, in a random order too
        await assert_invariant(db_conn)
        await bus.redeliver_all()  # and at quiescence, every event once more changes nothing
    await assert_invariant(db_conn)


async def run(step, app, client, database_url, bus, products, users, orders) -> None:
    """One step of a generated program."""
    kind = step[0]
    if kind == "place":
        _, who, lines = step
        answer = await client.post("/v1/orders", json=order_body(
            *[(products[p], q) for p, q in lines]), headers={
            **bearer(app, "customer", users[who]), "Idempotency-Key": str(uuid7())})
        assert answer.status_code == 201, answer.text
        orders.append((answer.json()["id"], users[who]))
    elif kind in ("cancel", "pay", "ship") and orders:
        order_id, owner = orders[step[1] % len(orders)]
        if kind == "pay":
            await pay(database_url, order_id)
        else:
            headers = bearer(app, "customer", owner) if kind == "cancel" else bearer(app)
            answer = await client.post(f"/v1/orders/{order_id}/{kind}", headers=headers)
            assert answer.status_code in (200, 409), answer.text
    elif kind == "deliver":
        await bus.deliver_one(random.Random(step[1]))
    elif kind == "redeliver":
        await bus.redeliver_one(random.Random(step[1]))
