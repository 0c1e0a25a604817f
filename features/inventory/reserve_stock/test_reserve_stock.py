"""reserve_stock: on OrderPlaced, reserve every line or none, once per order."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from uuid_utils.compat import uuid7

from features.inventory.reserve_stock import logic
from features.inventory.reserve_stock.handler import Line, OrderPlaced, reserve_stock
from tests.saga import handle, product, stock


async def answers(db_conn, order_id) -> list[tuple[str, dict]]:
    cur = await db_conn.execute("SELECT type, payload FROM kernel.outbox_events"
                                " WHERE aggregate_id = %s ORDER BY seq", (order_id,))
    return [(r["type"], r["payload"]) for r in await cur.fetchall()]


# -- logic (pure) ---------------------------------------------------------------------------

def test_every_line_must_fit_in_what_is_available() -> None:
    a, b = uuid7(), uuid7()
    stock_levels = {a: {"on_hand": 5, "reserved": 2}, b: {"on_hand": 1, "reserved": 0}}
    assert logic.can_reserve([Line(a, 3), Line(b, 1)], stock_levels)
    assert not logic.can_reserve([Line(a, 4), Line(b, 1)], stock_levels)  # 3 available
    assert not logic.can_reserve([Line(a, 1), Line(uuid7(), 1)], stock_levels)  # unknown: 0


# -- handler, on a real database -------------------------------------------------------------

async def test_reserves_every_line_and_says_so_once(database_url, db_conn) -> None:
    tea, cup = await product(db_conn, on_hand=5), await product(db_conn, on_hand=2)
    order_id = uuid7()
    event = OrderPlaced(order_id, [Line(tea, 3), Line(cup, 2)])
    for _ in range(3):  # delivered, then redelivered twice
        await handle(database_url, reserve_stock, event)
    assert await stock(db_conn, tea) == (5, 3) and await stock(db_conn, cup) == (2, 2)
    assert await answers(db_conn, order_id) == [("StockReserved", {"order_id": str(order_id)})]


@pytest.mark.parametrize("short", ["too_few", "unknown_product"])
async def test_one_short_line_reserves_nothing_at_all(database_url, db_conn, short) -> None:
    tea, cup = await product(db_conn, on_hand=5), await product(db_conn, on_hand=1)
    missing = Line(cup, 2) if short == "too_few" else Line(uuid7(), 1)
    order_id = uuid7()
    for _ in range(2):
        await handle(database_url, reserve_stock, OrderPlaced(order_id, [Line(tea, 1), missing]))
    assert await stock(db_conn, tea) == (5, 0) and await stock(db_conn, cup) == (1, 0)
    assert await answers(db_conn, order_id) == [
        ("StockRejected", {"order_id": str(order_id), "reason": "insufficient_stock"})]
    await db_conn.execute("UPDATE inventory.stock_levels SET on_hand = 100")
    await handle(database_url, reserve_stock, OrderPlaced(order_id, [Line(tea, 1), missing]))
    assert len(await answers(db_conn, order_id)) == 1  # rejected stays rejected


async def test_ten_orders_racing_for_five_units_reserve_exactly_five(database_url,
                                                                     db_conn) -> None:
    tea = await product(db_conn, on_hand=5)
    orders = [uuid7() for _ in range(10)]
    await asyncio.gather(*(handle(database_url, reserve_stock, OrderPlaced(o, [Line(tea, 1)]))
                           for o in orders))
    assert await stock(db_conn, tea) == (5, 5)
    kinds = [(await answers(db_conn, o))[0][0] for o in orders]
    assert sorted(kinds) == ["StockRejected"] * 5 + ["StockReserved"] * 5


async def test_orders_sharing_products_in_opposite_order_never_deadlock(database_url,
                                                                        db_conn) -> None:
    a, b = await product(db_conn, on_hand=100), await product(db_conn, on_hand=100)
    events = [OrderPlaced(uuid7(), [Line(a, 1), Line(b, 1)] if i % 2 else
                          [Line(b, 1), Line(a, 1)]) for i in range(20)]
    # A deadlock would raise DeadlockDetected here (PostgreSQL breaks it after 1 s).
    await asyncio.gather(*(handle(database_url, reserve_stock, e) for e in events))
    assert await stock(db_conn, a) == (100, 20) and await stock(db_conn, b) == (100, 20)


async def test_the_database_refuses_reservations_beyond_stock_or_for_unknown_products(
        db_conn) -> None:
    tea, order_id = await product(db_conn, on_hand=1), uuid7()
    with pytest.raises(psycopg.errors.CheckViolation):
        await db_conn.execute("UPDATE inventory.stock_levels SET reserved = 2"
                              " WHERE product_id = %s", (tea,))
    await db_conn.execute("INSERT INTO inventory.reservations (order_id, status, created_at)"
                          " VALUES (%s, 'reserved', now())", (order_id,))
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        await db_conn.execute("INSERT INTO inventory.reservation_lines (order_id, product_id,"
                              " quantity) VALUES (%s, %s, 1)", (order_id, uuid7()))
    with pytest.raises(psycopg.errors.UniqueViolation):
        await db_conn.execute("INSERT INTO inventory.reservations (order_id, status,"
                              " created_at) VALUES (%s, 'rejected', now())", (order_id,))
