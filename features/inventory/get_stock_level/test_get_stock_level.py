"""get_stock_level: GET /v1/inventory/{product_id} (anonymous)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from uuid_utils.compat import uuid7

from tests.fixtures import bearer, problem


async def test_anyone_reads_on_hand_reserved_and_available(client, db_conn) -> None:
    product_id = uuid7()
    await db_conn.execute("INSERT INTO inventory.stock_levels (product_id, on_hand, reserved)"
                          " VALUES (%s, 12, 5)", (product_id,))
    response = await client.get(f"/v1/inventory/{product_id}")
    assert response.status_code == 200, response.text
    assert response.json() == {"product_id": str(product_id), "on_hand": 12, "reserved": 5,
                               "available": 7}


async def test_unknown_and_malformed_ids_are_404(client) -> None:
    problem(await client.get(f"/v1/inventory/{uuid7()}"), 404, "not-found")
    problem(await client.get("/v1/inventory/not-a-uuid"), 404, "not-found")


async def test_reads_racing_adjustments_always_add_up_and_never_go_negative(app, client,
                                                                            db_conn) -> None:
    product_id = uuid7()
    await db_conn.execute("INSERT INTO inventory.stock_levels (product_id, on_hand, reserved)"
                          " VALUES (%s, 40, 10)", (product_id,))
    url, headers = f"/v1/inventory/{product_id}", bearer(app)

    async def write_off(i: int) -> None:  # 15 of 20 fit above what is reserved
        answer = await client.post(f"{url}/adjustments", json={"delta": -2, "reason": "sold"},
                                   headers={**headers, "Idempotency-Key": f"k-{i}"})
        assert answer.status_code in (201, 409), answer.text
        if answer.status_code == 201:  # a read started now sees at most what it left
            assert (await client.get(url)).json()["on_hand"] <= answer.json()["on_hand"]

    writing = True

    async def read() -> list:  # reads go on for as long as the writes do, however fast
        levels = []
        while writing or not levels:
            levels.append((await client.get(url)).json())
        return levels

    async def writer(first: int) -> None:  # five in turn: the pool keeps room for the reads
        for i in range(first, first + 5):
            await write_off(i)

    async def write_all() -> None:
        nonlocal writing
        try:
            await asyncio.gather(*(writer(first) for first in range(0, 20, 5)))
        finally:
            writing = False

    answers = await asyncio.gather(*(read() for _ in range(4)), write_all())
    seen = [level for levels in answers[:4] for level in levels]
    for level in seen:
        assert level["available"] == level["on_hand"] - level["reserved"] >= 0, level
        assert level["reserved"] == 10 and level["on_hand"] % 2 == 0, level
    assert len({level["on_hand"] for level in seen}) > 1  # the reads did meet the writes
    assert (await client.get(url)).json() == {"product_id": str(product_id), "on_hand": 10,
                                              "reserved": 10, "available": 0}


async def test_the_database_refuses_a_stock_level_that_would_read_negative(client,
                                                                           db_conn) -> None:
    insert = ("INSERT INTO inventory.stock_levels (product_id, on_hand, reserved)"
              " VALUES (%s, %s, %s)")
    for on_hand, reserved, constraint in ((1, 2, "stock_covers_reserved"),
                                          (-1, 0, "stock_covers_reserved"),
                                          (0, -1, "stock_reserved_non_negative")):
        product_id = uuid7()
        with pytest.raises(psycopg.errors.CheckViolation) as caught:
            await db_conn.execute(insert, (product_id, on_hand, reserved))
        # adjust_stock turns exactly this constraint's violation into its 409
        assert caught.value.diag.constraint_name == constraint
        problem(await client.get(f"/v1/inventory/{product_id}"), 404, "not-found")
    product_id = uuid7()
    await db_conn.execute(insert, (product_id, 3, 1))
    with pytest.raises(psycopg.errors.UniqueViolation):
        await db_conn.execute(insert, (product_id, 9, 0))
    assert (await client.get(f"/v1/inventory/{product_id}")).json()["available"] == 2
