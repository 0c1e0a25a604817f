"""get_stock_level: GET /v1/inventory/{product_id} (anonymous)."""

from __future__ import annotations

from uuid_utils.compat import uuid7

from tests.fixtures import problem


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
