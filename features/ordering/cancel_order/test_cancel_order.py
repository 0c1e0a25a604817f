"""cancel_order: POST /v1/orders/{id}/cancel (owner or admin)."""

from __future__ import annotations

import asyncio

import pytest
from uuid_utils.compat import uuid7

from tests.fixtures import bearer, problem
from tests.saga import events_of, order_in, order_status


@pytest.mark.parametrize("status", ["pending", "confirmed"])
async def test_the_owner_cancels_and_it_is_published_once(app, client, db_conn,
                                                          status) -> None:
    owner = uuid7()
    order_id = await order_in(db_conn, status, user_id=owner)
    url, headers = f"/v1/orders/{order_id}/cancel", bearer(app, "customer", owner)
    response = await client.post(url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled" and response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'
    again = await client.post(url, headers=headers)  # a retried cancel is safe
    assert again.status_code == 200 and again.json() == response.json()
    assert await events_of(db_conn, order_id) == ["OrderCancelled"]


async def test_an_admin_may_cancel_anyones_order(app, client, db_conn) -> None:
    order_id = await order_in(db_conn, "pending")
    response = await client.post(f"/v1/orders/{order_id}/cancel", headers=bearer(app))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


@pytest.mark.parametrize("status", ["rejected", "paid", "shipped"])
async def test_too_late_to_cancel_is_409_and_changes_nothing(app, client, db_conn,
                                                             status) -> None:
    owner = uuid7()
    order_id = await order_in(db_conn, status, user_id=owner)
    body = problem(await client.post(f"/v1/orders/{order_id}/cancel",
                                     headers=bearer(app, "customer", owner)), 409, "conflict")
    assert status in body["detail"]
    assert await order_status(db_conn, order_id) == status
    assert await events_of(db_conn, order_id) == []


async def test_someone_elses_order_is_404_and_stays_as_it_was(app, client, db_conn) -> None:
    order_id = await order_in(db_conn, "pending")
    for path in (f"/v1/orders/{order_id}/cancel", f"/v1/orders/{uuid7()}/cancel",
                 "/v1/orders/nope/cancel"):
        problem(await client.post(path, headers=bearer(app, "customer")), 404, "not-found")
    assert await order_status(db_conn, order_id) == "pending"
    problem(await client.post(f"/v1/orders/{order_id}/cancel"), 401, "unauthenticated")


async def test_ten_concurrent_cancels_cancel_once_and_all_answer_200(app, client,
                                                                     db_conn) -> None:
    owner = uuid7()
    order_id = await order_in(db_conn, "confirmed", user_id=owner)
    answers = await asyncio.gather(*(
        client.post(f"/v1/orders/{order_id}/cancel", headers=bearer(app, "customer", owner))
        for _ in range(10)))
    assert [a.status_code for a in answers] == [200] * 10
    assert {a.json()["version"] for a in answers} == {2}
    assert await events_of(db_conn, order_id) == ["OrderCancelled"]
