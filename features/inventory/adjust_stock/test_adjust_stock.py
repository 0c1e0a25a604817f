"""adjust_stock: POST /v1/inventory/{product_id}/adjustments (admin, Idempotency-Key)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from uuid_utils.compat import uuid7

from features.inventory.adjust_stock import logic
from features.inventory.adjust_stock.schema import Adjustment
from shared.http.problems import Problem
from tests.fixtures import bearer, problem


async def seed_stock(db_conn, on_hand: int = 0, reserved: int = 0) -> str:
    product_id = uuid7()
    await db_conn.execute("INSERT INTO inventory.stock_levels (product_id, on_hand, reserved)"
                          " VALUES (%s, %s, %s)", (product_id, on_hand, reserved))
    return str(product_id)


async def state(db_conn, product_id: str) -> tuple[int, int, int]:
    """(on_hand, reserved, number of adjustments recorded)"""
    cur = await db_conn.execute(
        "SELECT on_hand, reserved, (SELECT count(*) FROM inventory.adjustments a"
        " WHERE a.product_id = s.product_id) AS n"
        " FROM inventory.stock_levels s WHERE product_id = %s", (product_id,))
    row = await cur.fetchone()
    return row["on_hand"], row["reserved"], row["n"]


def admin(app, key: str = "k-1") -> dict[str, str]:
    return {**bearer(app), "Idempotency-Key": key}


# -- logic (pure) ---------------------------------------------------------------------------

def test_an_adjustment_keeps_its_trimmed_reason() -> None:
    product_id = uuid7()
    adjustment = logic.new_adjustment(product_id, Adjustment(delta=-2, reason=" broken "))
    assert (adjustment.product_id, adjustment.delta, adjustment.reason) == \
        (product_id, -2, "broken")


@pytest.mark.parametrize(("delta", "reason", "pointer"), [(0, "count", "#/delta"),
                                                          (1, "   ", "#/reason")])
def test_zero_deltas_and_blank_reasons_are_refused(delta, reason, pointer) -> None:
    with pytest.raises(Problem) as caught:
        logic.new_adjustment(uuid7(), Adjustment(delta=delta, reason=reason))
    assert caught.value.extensions["errors"][0]["pointer"] == pointer


# -- HTTP, on a real database -----------------------------------------------------------------

async def test_adds_stock_once_however_often_it_is_retried(app, client, db_conn) -> None:
    product_id = await seed_stock(db_conn, reserved=0)
    url = f"/v1/inventory/{product_id}/adjustments"
    body = {"delta": 10, "reason": "delivery 42"}
    headers = admin(app)  # one caller: keys are scoped to who sends them
    first = await client.post(url, json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json() == {"product_id": product_id, "on_hand": 10, "reserved": 0,
                            "available": 10}
    assert first.headers["content-location"] == f"/v1/inventory/{product_id}"
    again = await client.post(url, json=body, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["content-location"] == first.headers["content-location"]
    assert await state(db_conn, product_id) == (10, 0, 1)
    reason = await (await db_conn.execute(
        "SELECT reason, delta FROM inventory.adjustments WHERE product_id = %s",
        (product_id,))).fetchone()
    assert reason == {"reason": "delivery 42", "delta": 10}


async def test_stock_cannot_drop_below_what_is_reserved(app, client, db_conn) -> None:
    product_id = await seed_stock(db_conn, on_hand=5, reserved=3)
    url = f"/v1/inventory/{product_id}/adjustments"
    problem(await client.post(url, json={"delta": -3, "reason": "lost"}, headers=admin(app)),
            409, "conflict")
    assert await state(db_conn, product_id) == (5, 3, 0)
    ok = await client.post(url, json={"delta": -2, "reason": "lost"}, headers=admin(app, "k-2"))
    assert ok.json()["available"] == 0 and await state(db_conn, product_id) == (3, 3, 1)


async def test_concurrent_write_offs_never_drive_stock_negative(app, client, db_conn) -> None:
    product_id = await seed_stock(db_conn, on_hand=5)
    url = f"/v1/inventory/{product_id}/adjustments"
    answers = await asyncio.gather(*(
        client.post(url, json={"delta": -1, "reason": "sold"}, headers=admin(app, f"k-{i}"))
        for i in range(10)))
    assert sorted(a.status_code for a in answers) == [201] * 5 + [409] * 5
    assert await state(db_conn, product_id) == (0, 0, 5)


async def test_the_database_itself_refuses_impossible_stock(db_conn) -> None:
    product_id = await seed_stock(db_conn, on_hand=2, reserved=1)
    for update in ("reserved = -1", "on_hand = 0", "reserved = 3"):
        with pytest.raises(psycopg.errors.CheckViolation):
            await db_conn.execute(f"UPDATE inventory.stock_levels SET {update}"
                                  " WHERE product_id = %s", (product_id,))
    with pytest.raises(psycopg.errors.CheckViolation):
        await db_conn.execute("INSERT INTO inventory.adjustments (id, product_id, delta, reason,"
                              " created_at) VALUES (%s, %s, 0, 'x', now())", (uuid7(), product_id))


async def test_bad_requests_change_nothing(app, client, db_conn) -> None:
    product_id = await seed_stock(db_conn, on_hand=1)
    url = f"/v1/inventory/{product_id}/adjustments"
    for body, pointer in (({"delta": 0, "reason": "x"}, "#/delta"),
                          ({"delta": 1.5, "reason": "x"}, "#/delta"),
                          ({"delta": "many", "reason": "x"}, "#/delta"),
                          ({"delta": 10**9 + 1, "reason": "x"}, "#/delta"),
                          ({"delta": 1, "reason": ""}, "#/reason"),
                          ({"delta": 1, "reason": "r" * 201}, "#/reason"),
                          ({"delta": 1, "reason": "x", "note": "?"}, "#/note")):
        answer = problem(await client.post(url, json=body, headers=admin(app)),
                         400, "validation-error")
        assert answer["errors"][0]["pointer"] == pointer, body
    problem(await client.post(url, json={"delta": 1, "reason": "x"}, headers=bearer(app)),
            400, "idempotency-key-missing")
    problem(await client.post(f"/v1/inventory/{uuid7()}/adjustments",
                              json={"delta": 1, "reason": "x"}, headers=admin(app)),
            404, "not-found")
    problem(await client.post("/v1/inventory/nope/adjustments",
                              json={"delta": 1, "reason": "x"}, headers=admin(app)),
            404, "not-found")
    problem(await client.post(url, json={"delta": 1, "reason": "x"},
                              headers={**bearer(app, "customer"), "Idempotency-Key": "k"}),
            403, "forbidden")
    assert await state(db_conn, product_id) == (1, 0, 0)


async def test_ten_concurrent_adjustments_with_one_key_apply_once(app, client, db_conn) -> None:
    product_id = await seed_stock(db_conn)
    headers = admin(app, "same-key")  # one caller, one key
    answers = await asyncio.gather(*(
        client.post(f"/v1/inventory/{product_id}/adjustments", headers=headers,
                    json={"delta": 7, "reason": "delivery"}) for _ in range(10)))
    assert {a.status_code for a in answers} <= {201, 409}
    applied = [a for a in answers if a.status_code == 201
               and "idempotent-replayed" not in a.headers]
    assert len(applied) == 1
    for a in answers:
        if a.status_code == 201:
            assert a.json() == applied[0].json()
        else:
            problem(a, 409, "idempotency-in-progress")
            assert a.headers["retry-after"] == "1"
    assert await state(db_conn, product_id) == (7, 0, 1)


async def test_a_not_enough_stock_answer_is_replayed_for_its_key(app, client, db_conn) -> None:
    product_id = await seed_stock(db_conn, on_hand=5, reserved=3)
    url, headers = f"/v1/inventory/{product_id}/adjustments", admin(app, "write-off")
    body = {"delta": -3, "reason": "lost"}
    refused = problem(await client.post(url, json=body, headers=headers), 409, "conflict")
    await db_conn.execute("UPDATE inventory.stock_levels SET on_hand = 50 WHERE product_id = %s",
                          (product_id,))
    again = await client.post(url, json=body, headers=headers)  # would fit now, but is a retry
    assert again.status_code == 409 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == refused  # the first answer, request_id included
    assert await state(db_conn, product_id) == (50, 3, 0)


async def test_a_404_is_not_stored_so_the_key_works_once_the_product_is_known(app, client,
                                                                              db_conn) -> None:
    product_id = uuid7()
    url, headers = f"/v1/inventory/{product_id}/adjustments", admin(app, "early")
    body = {"delta": 4, "reason": "delivery"}
    problem(await client.post(url, json=body, headers=headers), 404, "not-found")
    await db_conn.execute("INSERT INTO inventory.stock_levels (product_id) VALUES (%s)",
                          (product_id,))  # its ProductCreated arrived
    retried = await client.post(url, json=body, headers=headers)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers and retried.json()["on_hand"] == 4
    assert await state(db_conn, str(product_id)) == (4, 0, 1)
