"""track_order: what payments learns of orders from ordering's events, in any order of arrival,
and the compensation when a cancellation meets a charge (both orders of arrival)."""

from __future__ import annotations

import asyncio

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
)


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
