"""release_stock: on OrderCancelled, release exactly what that order reserved, once, whichever
of OrderPlaced and OrderCancelled inventory sees first."""

from __future__ import annotations

import asyncio

from uuid_utils.compat import uuid7

from features.inventory.release_stock.handler import OrderCancelled, release_stock
from features.inventory.reserve_stock.handler import Line, OrderPlaced, reserve_stock
from tests.saga import handle, product, stock


async def reservation(db_conn, order_id) -> str | None:
    cur = await db_conn.execute("SELECT status FROM inventory.reservations WHERE order_id = %s",
                                (order_id,))
    row = await cur.fetchone()
    return row and row["status"]


async def test_releases_what_the_order_holds_once(database_url, db_conn) -> None:
    tea, cup = await product(db_conn, on_hand=5), await product(db_conn, on_hand=5)
    other, order_id = uuid7(), uuid7()
    await handle(database_url, reserve_stock, OrderPlaced(other, [Line(tea, 1)]))
    await handle(database_url, reserve_stock, OrderPlaced(order_id, [Line(tea, 2),
                                                                     Line(cup, 3)]))
    for _ in range(3):  # redelivered: released once
        await handle(database_url, release_stock, OrderCancelled(order_id))
    assert await stock(db_conn, tea) == (5, 1)  # the other order keeps its unit
    assert await stock(db_conn, cup) == (5, 0)
    assert await reservation(db_conn, order_id) == "released"


async def test_a_cancel_seen_first_makes_the_later_order_reserve_nothing(database_url,
                                                                         db_conn) -> None:
    tea, order_id = await product(db_conn, on_hand=5), uuid7()
    await handle(database_url, release_stock, OrderCancelled(order_id))
    await handle(database_url, reserve_stock, OrderPlaced(order_id, [Line(tea, 2)]))
    assert await stock(db_conn, tea) == (5, 0)
    assert await reservation(db_conn, order_id) == "released"
    cur = await db_conn.execute("SELECT count(*) AS n FROM kernel.outbox_events")
    assert (await cur.fetchone())["n"] == 0  # no answer for a cancelled order


async def test_a_rejected_order_has_nothing_to_release(database_url, db_conn) -> None:
    tea, order_id = await product(db_conn, on_hand=1), uuid7()
    await handle(database_url, reserve_stock, OrderPlaced(order_id, [Line(tea, 2)]))
    await handle(database_url, release_stock, OrderCancelled(order_id))
    assert await stock(db_conn, tea) == (1, 0)
    assert await reservation(db_conn, order_id) == "rejected"


async def test_reserve_and_release_of_one_order_racing_always_end_released(database_url,
                                                                          db_conn) -> None:
    tea = await product(db_conn, on_hand=1000)
    orders = [uuid7() for _ in range(20)]
    await asyncio.gather(*(
        asyncio.gather(handle(database_url, reserve_stock, OrderPlaced(o, [Line(tea, 3)])),
                       handle(database_url, release_stock, OrderCancelled(o)))
        for o in orders))
    assert await stock(db_conn, tea) == (1000, 0)
    for o in orders:
        assert await reservation(db_conn, o) == "released"
