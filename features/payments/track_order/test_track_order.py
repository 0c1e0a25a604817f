"""track_order: what payments learns of orders from ordering's events, in any order of arrival,
and the compensation when a cancellation meets a charge (both orders of arrival)."""

from __future__ import annotations

import asyncio
import itertools

import psycopg
from psycopg.rows import dict_row
from uuid_utils.compat import uuid7

from features.payments.conftest import cancel, confirmed_order, deliver, events_of, payments_of
from features.payments.recover_payments.handler import recover_payments
from features.payments.track_order.handler import (
    OrderCancelled,
    OrderConfirmed,
    OrderPlaced,
    OrderRejected,
    order_cancelled,
    order_confirmed,
    order_placed,
    order_rejected,
    orders_confirmed,
    orders_placed,
)
from features.payments.track_order.logic import Learned, folded, then


async def order_row(db_conn, order_id):
    cur = await db_conn.execute("SELECT status, total_cents, currency FROM payments.orders"
                                " WHERE order_id = %s", (order_id,))
    return await cur.fetchone()


async def test_a_status_only_moves_forward_whatever_the_order_of_arrival(db_conn) -> None:
    order_id, user_id = uuid7(), uuid7()
    confirmed = OrderConfirmed(order_id=order_id, user_id=user_id, total_cents=500,
                               currency="EUR")
    await deliver(db_conn, order_confirmed, confirmed)
    await deliver(db_conn, order_placed, OrderPlaced(order_id=order_id, user_id=user_id))
    assert await order_row(db_conn, order_id) == {"status": "confirmed", "total_cents": 500,
                                                  "currency": "EUR"}
    await deliver(db_conn, order_confirmed, confirmed)  # redelivered: nothing changes
    assert (await order_row(db_conn, order_id))["status"] == "confirmed"


async def test_a_cancellation_before_its_confirmation_stays_cancelled(db_conn) -> None:
    order_id, user_id = uuid7(), uuid7()
    await deliver(db_conn, order_cancelled, OrderCancelled(order_id=order_id, user_id=user_id))
    await deliver(db_conn, order_confirmed, OrderConfirmed(
        order_id=order_id, user_id=user_id, total_cents=700, currency="USD"))
    assert await order_row(db_conn, order_id) == {"status": "cancelled", "total_cents": 700,
                                                  "currency": "USD"}


async def test_a_rejected_order_stays_rejected(db_conn) -> None:
    order_id, user_id = uuid7(), uuid7()
    await deliver(db_conn, order_rejected, OrderRejected(order_id=order_id, user_id=user_id))
    await deliver(db_conn, order_placed, OrderPlaced(order_id=order_id, user_id=user_id))
    assert (await order_row(db_conn, order_id))["status"] == "rejected"


# -- many at once (the relay's batch: Subscription.handle_many) -------------------------------


def test_a_folded_batch_is_what_learning_each_in_turn_leaves_in_every_order_of_arrival() -> None:
    order_id, user_id = uuid7(), uuid7()
    news = [Learned(order_id, user_id, "pending"),
            Learned(order_id, user_id, "confirmed", 500, "EUR"),
            Learned(order_id, user_id, "cancelled"), Learned(order_id, user_id, "rejected")]
    for arrival in itertools.permutations(news):
        [one] = folded(arrival)
        in_turn = arrival[0]
        for later in arrival[1:]:
            in_turn = then(in_turn, later)
        assert one == in_turn
        assert (one.total_cents, one.currency) == (500, "EUR")  # the amount always stays
        assert one.status == next(n.status for n in arrival if n.status in ("cancelled",
                                                                            "rejected"))
    assert folded([]) == []
    ids = [uuid7() for _ in range(5)]
    assert [r.order_id for r in folded(Learned(i, user_id, "pending") for i in reversed(ids))] \
        == sorted(ids)  # the lock order


async def test_a_batch_leaves_what_the_same_deliveries_one_by_one_leave(db_conn) -> None:
    """Several orders in one statement, some known already, one placed after its confirmation,
    one redelivered within the batch; then the batch redelivered whole."""
    user_id = uuid7()
    known, late, twice, new = uuid7(), uuid7(), uuid7(), uuid7()
    await deliver(db_conn, order_cancelled, OrderCancelled(order_id=known, user_id=user_id))
    confirmed = [OrderConfirmed(order_id=o, user_id=user_id, total_cents=100 + i,
                                currency="EUR") for i, o in enumerate((known, late, twice))]
    for _ in range(2):
        await deliver(db_conn, orders_confirmed, [*confirmed, confirmed[2]])
        await deliver(db_conn, orders_placed, [OrderPlaced(order_id=o, user_id=user_id)
                                               for o in (late, new, twice)])
    assert await order_row(db_conn, known) == {"status": "cancelled", "total_cents": 100,
                                               "currency": "EUR"}
    for order_id, total in ((late, 101), (twice, 102)):
        assert await order_row(db_conn, order_id) == {"status": "confirmed",
                                                      "total_cents": total, "currency": "EUR"}
    assert await order_row(db_conn, new) == {"status": "pending", "total_cents": None,
                                             "currency": None}


async def test_batches_at_once_over_the_same_orders_leave_the_furthest_status(
        database_url) -> None:
    """Relays' batches over the same orders, listed in opposite orders, at once: each takes
    the rows in order id order, waits for the other's at most, and none undoes the other."""
    user_id = uuid7()
    orders = [uuid7() for _ in range(20)]
    placed = [OrderPlaced(order_id=o, user_id=user_id) for o in orders]
    confirmed = [OrderConfirmed(order_id=o, user_id=user_id, total_cents=300, currency="USD")
                 for o in orders]

    async def batch(handler, events) -> None:
        async with await psycopg.AsyncConnection.connect(
                database_url, row_factory=dict_row) as conn, conn.transaction():
            await handler(events, conn)
            await asyncio.sleep(0.05)  # hold the locks while the other batch asks

    # A deadlock would raise DeadlockDetected here (PostgreSQL breaks it after 1 s).
    await asyncio.gather(batch(orders_placed, placed), batch(orders_confirmed, confirmed[::-1]),
                         batch(orders_placed, placed[::-1]))
    async with await psycopg.AsyncConnection.connect(database_url,
                                                     row_factory=dict_row) as conn:
        for order_id in orders:
            assert await order_row(conn, order_id) == {"status": "confirmed",
                                                       "total_cents": 300, "currency": "USD"}


async def test_a_cancel_while_the_charge_is_in_flight_is_refunded(app, client, customer,
                                                                  db_conn, sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    await sandbox.behave(latency_ms=300)
    paying = asyncio.create_task(client.post(
        f"/v1/orders/{order_id}/payments", json={"payment_method": "pm_card_visa"},
        headers=customer.paying()))
    await _charged(sandbox)
    await cancel(db_conn, order_id, customer.id)  # lands while the answer is on its way
    answer = await paying
    assert (answer.status_code, answer.json()["status"]) == (201, "refunded"), answer.text
    [charge] = await sandbox.charges()
    assert charge["refunded"] is True
    assert len(await events_of(db_conn, "PaymentSucceeded", order_id)) == 1
    [refund] = await events_of(db_conn, "PaymentRefunded", order_id)
    assert refund["payment_id"] == answer.json()["id"]
    assert (await order_row(db_conn, order_id))["status"] == "cancelled"


async def test_a_cancel_after_the_charge_is_refunded_by_the_sweep(app, client, customer,
                                                                  db_conn, sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    answer = await client.post(f"/v1/orders/{order_id}/payments",
                               json={"payment_method": "pm_card_visa"},
                               headers=customer.paying())
    assert answer.json()["status"] == "succeeded"
    await cancel(db_conn, order_id, customer.id)
    await cancel(db_conn, order_id, customer.id)  # redelivered
    [payment] = await payments_of(db_conn, order_id)
    assert (payment["status"], payment["refund_due"]) == ("succeeded", True)
    # The provider is down at first: the refund stays owed, then is made once.
    await sandbox.behave(failure="error", failures_left=1)
    assert await recover_payments(app.state.db, app.state.settings) == 0
    assert await recover_payments(app.state.db, app.state.settings) == 1
    assert await recover_payments(app.state.db, app.state.settings) == 0
    [payment] = await payments_of(db_conn, order_id)
    assert (payment["status"], payment["refund_due"]) == ("refunded", False)
    assert [c["refunded"] for c in await sandbox.charges()] == [True]
    assert len(await events_of(db_conn, "PaymentRefunded", order_id)) == 1


async def _charged(sandbox) -> None:
    from tests.fixtures import eventually

    await eventually(sandbox.charges)
