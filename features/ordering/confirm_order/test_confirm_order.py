"""confirm_order, reject_order and mark_paid: ordering's answers to inventory and payments.

Each is idempotent per event (a redelivery changes nothing and publishes nothing again) and
leaves an order that moved on meanwhile (cancelled) as it is.
"""

from __future__ import annotations

import asyncio

import pytest

from features.ordering.confirm_order.handler import StockReserved, confirm_order, confirm_orders
from features.ordering.mark_paid.handler import PaymentSucceeded, mark_orders_paid, mark_paid
from features.ordering.reject_order.handler import StockRejected, reject_order
from tests.saga import events_of, handle, order_in, order_status


async def test_stock_reserved_confirms_once_and_publishes_the_total(database_url,
                                                                    db_conn) -> None:
    order_id = await order_in(db_conn, "pending")
    for _ in range(3):
        await handle(database_url, confirm_order, StockReserved(order_id))
    assert await order_status(db_conn, order_id) == "confirmed"
    cur = await db_conn.execute("SELECT type, payload FROM kernel.outbox_events"
                                " WHERE aggregate_id = %s", (order_id,))
    [event] = await cur.fetchall()
    assert event["type"] == "OrderConfirmed"
    assert event["payload"]["total_cents"] == 100 and event["payload"]["currency"] == "EUR"


async def test_a_batch_confirms_each_pending_order_once_and_leaves_the_rest(database_url,
                                                                           db_conn) -> None:
    """The relay's batch (`confirm_orders`): pending orders move and announce it once, even
    named twice; an order confirmed or cancelled already is left alone; and the whole batch
    redelivered changes nothing."""
    pending = [await order_in(db_conn, "pending") for _ in range(3)]
    confirmed, cancelled = await order_in(db_conn, "confirmed"), await order_in(db_conn,
                                                                               "cancelled")
    batch = [StockReserved(o) for o in (*pending, confirmed, pending[0], cancelled)]
    for _ in range(2):
        await handle(database_url, confirm_orders, batch)
    for order_id in pending:
        assert await order_status(db_conn, order_id) == "confirmed"
        assert await events_of(db_conn, order_id) == ["OrderConfirmed"]
    assert await order_status(db_conn, cancelled) == "cancelled"
    assert await events_of(db_conn, confirmed) == [] and await events_of(db_conn,
                                                                         cancelled) == []
    assert await handle(database_url, confirm_orders, []) is None  # an empty batch is nothing


async def test_batches_at_once_over_the_same_orders_confirm_each_once(database_url,
                                                                      db_conn) -> None:
    """Relays' batches naming the same orders in opposite orders, with single deliveries
    among them: each order moves once and announces it once."""
    orders = [await order_in(db_conn, "pending") for _ in range(12)]
    events = [StockReserved(o) for o in orders]
    await asyncio.gather(handle(database_url, confirm_orders, events),
                         handle(database_url, confirm_orders, events[::-1]),
                         *(handle(database_url, confirm_order, e) for e in events[::3]))
    for order_id in orders:
        assert await order_status(db_conn, order_id) == "confirmed"
        assert await events_of(db_conn, order_id) == ["OrderConfirmed"]


async def test_stock_rejected_rejects_once_with_the_reason(database_url, db_conn) -> None:
    order_id = await order_in(db_conn, "pending")
    for _ in range(2):
        await handle(database_url, reject_order, StockRejected(order_id, "insufficient_stock"))
    cur = await db_conn.execute("SELECT status, rejection_reason FROM ordering.orders"
                                " WHERE id = %s", (order_id,))
    assert await cur.fetchone() == {"status": "rejected",
                                    "rejection_reason": "insufficient_stock"}
    assert await events_of(db_conn, order_id) == ["OrderRejected"]


@pytest.mark.parametrize(("status", "handler", "event"), [
    ("cancelled", confirm_order, StockReserved),
    ("cancelled", reject_order, lambda o: StockRejected(o, "insufficient_stock")),
    ("cancelled", mark_paid, lambda o: PaymentSucceeded(o, o)),
    ("paid", mark_paid, lambda o: PaymentSucceeded(o, o)),
])
async def test_an_order_that_moved_on_is_left_alone(database_url, db_conn, status, handler,
                                                    event) -> None:
    order_id = await order_in(db_conn, status)
    await handle(database_url, handler, event(order_id))
    assert await order_status(db_conn, order_id) == status
    assert await events_of(db_conn, order_id) == []


async def test_a_payment_makes_a_confirmed_order_paid_once(database_url, db_conn) -> None:
    order_id = await order_in(db_conn, "confirmed")
    for _ in range(2):
        await handle(database_url, mark_paid, PaymentSucceeded(order_id, order_id))
    cur = await db_conn.execute("SELECT status, version FROM ordering.orders WHERE id = %s",
                                (order_id,))
    assert await cur.fetchone() == {"status": "paid", "version": 2}


async def test_a_batch_of_payments_makes_each_confirmed_order_paid_once(database_url,
                                                                       db_conn) -> None:
    """The relay's batch (`mark_orders_paid`): confirmed orders become paid once, even named
    twice; an order paid, cancelled or still pending is left alone; the whole batch
    redelivered changes nothing."""
    confirmed = [await order_in(db_conn, "confirmed") for _ in range(3)]
    others = {status: await order_in(db_conn, status)
              for status in ("paid", "cancelled", "pending")}
    batch = [PaymentSucceeded(o, o) for o in (*confirmed, *others.values(), confirmed[0])]
    for _ in range(2):
        await handle(database_url, mark_orders_paid, batch)
    for order_id in confirmed:
        cur = await db_conn.execute("SELECT status, version FROM ordering.orders"
                                    " WHERE id = %s", (order_id,))
        assert await cur.fetchone() == {"status": "paid", "version": 2}
    for status, order_id in others.items():
        assert await order_status(db_conn, order_id) == status
    assert await handle(database_url, mark_orders_paid, []) is None  # an empty batch


async def test_payment_batches_at_once_over_the_same_orders_pay_each_once(database_url,
                                                                         db_conn) -> None:
    """Relays' batches of the same payments in opposite orders, with single deliveries among
    them: no deadlock, and each order moves once (one version step)."""
    orders = [await order_in(db_conn, "confirmed") for _ in range(12)]
    events = [PaymentSucceeded(o, o) for o in orders]
    await asyncio.gather(handle(database_url, mark_orders_paid, events),
                         handle(database_url, mark_orders_paid, events[::-1]),
                         *(handle(database_url, mark_paid, e) for e in events[::3]))
    cur = await db_conn.execute("SELECT status, version FROM ordering.orders WHERE id = ANY(%s)",
                                (orders,))
    assert await cur.fetchall() == [{"status": "paid", "version": 2}] * 12
