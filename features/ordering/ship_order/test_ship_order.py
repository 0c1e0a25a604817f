"""ship_order: POST /v1/orders/{id}/ship (admin; only from paid)."""

from __future__ import annotations

import asyncio

import pytest
from uuid_utils.compat import uuid7

from tests.fixtures import bearer, problem
from tests.saga import events_of, order_in, order_status, product


async def test_an_admin_ships_a_paid_order_once(app, client, db_conn) -> None:
    tea, cup = await product(db_conn), await product(db_conn)
    order_id = await order_in(db_conn, "paid", lines=[(tea, 2), (cup, 1)])
    answers = await asyncio.gather(*(client.post(f"/v1/orders/{order_id}/ship",
                                                 headers=bearer(app)) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 4
    shipped = next(a for a in answers if a.status_code == 200).json()
    assert shipped["status"] == "shipped" and shipped["version"] == 2
    assert await events_of(db_conn, order_id) == ["OrderShipped"]
    cur = await db_conn.execute("SELECT payload FROM kernel.outbox_events WHERE aggregate_id"
                                " = %s", (order_id,))
    assert (await cur.fetchone())["payload"]["lines"] == [
        {"product_id": str(tea), "quantity": 2}, {"product_id": str(cup), "quantity": 1}]


@pytest.mark.parametrize("status", ["pending", "confirmed", "rejected", "cancelled", "shipped"])
async def test_only_paid_orders_ship(app, client, db_conn, status) -> None:
    order_id = await order_in(db_conn, status)
    problem(await client.post(f"/v1/orders/{order_id}/ship", headers=bearer(app)),
            409, "conflict")
    assert await order_status(db_conn, order_id) == status


async def test_customers_may_not_ship_and_unknown_orders_are_404(app, client, db_conn) -> None:
    owner = uuid7()
    order_id = await order_in(db_conn, "paid", user_id=owner)
    problem(await client.post(f"/v1/orders/{order_id}/ship",
                              headers=bearer(app, "customer", owner)), 403, "forbidden")
    problem(await client.post(f"/v1/orders/{uuid7()}/ship", headers=bearer(app)),
            404, "not-found")
    assert await order_status(db_conn, order_id) == "paid"
