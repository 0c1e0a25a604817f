"""get_order: GET /v1/orders/{id} (owner or admin; 404 for anyone else)."""

from __future__ import annotations

import asyncio

from uuid_utils.compat import uuid7

from tests.fixtures import bearer, problem
from tests.saga import order_in, product


async def test_the_owner_and_an_admin_see_it_with_its_etag(app, client, db_conn) -> None:
    owner, tea = uuid7(), await product(db_conn)
    order_id = await order_in(db_conn, "confirmed", user_id=owner, lines=[(tea, 2)])
    for headers in (bearer(app, "customer", owner), bearer(app, "admin")):
        response = await client.get(f"/v1/orders/{order_id}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"1"'
        body = response.json()
        assert (body["id"], body["status"], body["total_cents"]) == \
            (str(order_id), "confirmed", 200)
        assert body["items"] == [{"product_id": str(tea), "quantity": 2,
                                  "unit_price_cents": 100}]
    cached = await client.get(f"/v1/orders/{order_id}", headers={
        **bearer(app, "customer", owner), "If-None-Match": '"1"'})
    assert cached.status_code == 304 and cached.content == b""


async def test_someone_elses_order_and_nonsense_ids_are_404(app, client, db_conn) -> None:
    order_id = await order_in(db_conn, "pending")
    stranger = bearer(app, "customer")
    for path in (f"/v1/orders/{order_id}", f"/v1/orders/{uuid7()}", "/v1/orders/nope",
                 "/v1/orders/" + "9" * 40):
        problem(await client.get(path, headers=stranger), 404, "not-found")
    problem(await client.get(f"/v1/orders/{order_id}"), 401, "unauthenticated")


async def test_reads_racing_a_cancel_see_one_whole_version(app, client, db_conn) -> None:
    owner = uuid7()
    order_id = await order_in(db_conn, "pending", user_id=owner)
    headers = bearer(app, "customer", owner)
    answers = await asyncio.gather(
        client.post(f"/v1/orders/{order_id}/cancel", headers=headers),
        *(client.get(f"/v1/orders/{order_id}", headers=headers) for _ in range(10)))
    assert all(a.status_code == 200 for a in answers)
    for answer in answers[1:]:
        body = answer.json()
        assert (body["status"], body["version"]) in {("pending", 1), ("cancelled", 2)}
        assert answer.headers["etag"] == f'"{body["version"]}"'
