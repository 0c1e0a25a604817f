"""confirm_order, reject_order and mark_paid: ordering's answers to inventory and payments.

Each is idempotent per event (a redelivery changes nothing and publishes nothing again) and
leaves an order that moved on meanwhile (cancelled) as it is.
"""

from __future__ import annotations

import pytest

from features.ordering.confirm_order.handler import StockReserved, confirm_order
from features.ordering.mark_paid.handler import PaymentSucceeded, mark_paid
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
