"""reserve_stock: on OrderPlaced, reserve every line or none, once per order."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from uuid_utils.compat import uuid7

from features.inventory.release_stock.handler import OrderCancelled, release_stock
from features.inventory.reserve_stock import logic
from features.inventory.reserve_stock.handler import (
    Line,
    OrderPlaced,
    reserve_many,
    reserve_stock,
)
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


def test_orders_decided_together_take_their_stock_in_turn() -> None:
    a, b = uuid7(), uuid7()
    stock_levels = {a: {"on_hand": 5, "reserved": 1}, b: {"on_hand": 2, "reserved": 0}}
    orders = [OrderPlaced(uuid7(), [Line(a, 3)]), OrderPlaced(uuid7(), [Line(a, 2)]),
              OrderPlaced(uuid7(), [Line(a, 1), Line(b, 1)]), OrderPlaced(uuid7(), [Line(b, 2)]),
              OrderPlaced(uuid7(), [Line(b, 1)])]
    # a: 4 free, 3 taken, 2 do not fit, the last 1 taken; b: 2 free, 1 taken, 2 do not fit.
    assert [fits for _, fits in logic.decide(orders, stock_levels)] == [
        True, False, True, False, True]
    assert stock_levels[a]["reserved"] == 1  # what it was given is left as it was
    assert logic.decide([], stock_levels) == []


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


async def test_many_orders_at_once_have_the_effect_of_each_in_turn(database_url,
                                                                   db_conn) -> None:
    """The relay's batch (`reserve_many`): the same outcome as one delivery after another,
    duplicates and orders already decided included, and a redelivered batch changes nothing."""
    tea, cup = await product(db_conn, on_hand=5), await product(db_conn, on_hand=1)
    earlier, cancelled = uuid7(), uuid7()
    await handle(database_url, reserve_stock, OrderPlaced(earlier, [Line(tea, 1)]))
    await handle(database_url, release_stock, OrderCancelled(cancelled))  # cancel came first
    first, second, third = (OrderPlaced(uuid7(), lines) for lines in (
        [Line(tea, 2), Line(cup, 1)], [Line(tea, 2), Line(cup, 1)], [Line(tea, 2)]))
    batch = [first, OrderPlaced(earlier, [Line(tea, 1)]), second, first,
             OrderPlaced(cancelled, [Line(tea, 1)]), third]
    for _ in range(2):  # delivered, then the whole batch redelivered
        await handle(database_url, reserve_many, batch)
    assert await stock(db_conn, tea) == (5, 5) and await stock(db_conn, cup) == (1, 1)
    assert [kind for kind, _ in await answers(db_conn, first.order_id)] == ["StockReserved"]
    assert [kind for kind, _ in await answers(db_conn, second.order_id)] == ["StockRejected"]
    assert [kind for kind, _ in await answers(db_conn, third.order_id)] == ["StockReserved"]
    assert len(await answers(db_conn, earlier)) == 1 and await answers(db_conn, cancelled) == []
    lines = await db_conn.execute("SELECT count(*) AS n FROM inventory.reservation_lines"
                                  " WHERE order_id = %s", (first.order_id,))
    assert (await lines.fetchone())["n"] == 2


async def test_batches_racing_over_the_same_products_never_deadlock(database_url,
                                                                    db_conn) -> None:
    """Batches lock every order, then every stock row, each in sorted order: two relays'
    batches sharing products in any order wait for each other at most, never in a circle."""
    products = [await product(db_conn, on_hand=1000) for _ in range(6)]

    def batch(i: int) -> list[OrderPlaced]:
        turn = products[i % 6:] + products[:i % 6]
        return [OrderPlaced(uuid7(), [Line(p, 1) for p in reversed(turn[j:j + 3])])
                for j in range(4)]

    # A deadlock would raise DeadlockDetected here (PostgreSQL breaks it after 1 s).
    await asyncio.gather(*(handle(database_url, reserve_many, batch(i)) for i in range(12)))
    for p in products:
        assert await stock(db_conn, p) == (1000, 24)  # 12 batches x 4 orders x 3 lines / 6


async def test_a_batch_racing_the_last_units_with_single_orders_never_oversells(
        database_url, db_conn) -> None:
    tea = await product(db_conn, on_hand=5)
    singles = [OrderPlaced(uuid7(), [Line(tea, 1)]) for _ in range(6)]
    batched = [OrderPlaced(uuid7(), [Line(tea, 1)]) for _ in range(6)]
    await asyncio.gather(handle(database_url, reserve_many, batched),
                         *(handle(database_url, reserve_stock, e) for e in singles))
    assert await stock(db_conn, tea) == (5, 5)
    kinds = [(await answers(db_conn, e.order_id))[0][0] for e in singles + batched]
    assert sorted(kinds) == ["StockRejected"] * 7 + ["StockReserved"] * 5
