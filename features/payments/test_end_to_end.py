"""Payments in the order saga, end to end: place an order, inventory confirms it, pay it, and
ordering marks it paid; and the cancel race in both orders of arrival, refunded.

Every step goes through the real slices and handlers; `tests/saga.py`'s Deliveries runs the
outbox's deliveries through their real subscribers in lane order, as the relay would.
"""

from __future__ import annotations

from features.payments.conftest import payments_of
from features.payments.recover_payments.handler import recover_payments
from tests.saga import Deliveries, order_status, product


async def placed_and_confirmed(client, customer, db_conn, bus) -> tuple[str, str]:
    product_id = await product(db_conn, price_cents=1500, on_hand=5)
    placed = await client.post("/v1/orders", json={"items": [
        {"product_id": str(product_id), "quantity": 2}]}, headers=customer.paying())
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    await bus.deliver()
    assert await order_status(db_conn, order_id) == "confirmed"
    return order_id, str(product_id)


async def pay(client, customer, order_id):
    answer = await client.post(f"/v1/orders/{order_id}/payments",
                               json={"payment_method": "pm_card_visa"}, headers=customer.paying())
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_confirmed_order_paid_becomes_paid(client, customer, db_conn, database_url,
                                                   sandbox) -> None:
    async with Deliveries(database_url) as bus:
        order_id, _ = await placed_and_confirmed(client, customer, db_conn, bus)
        payment = await pay(client, customer, order_id)
        assert (payment["amount_cents"], payment["currency"]) == (3000, "EUR")
        await bus.deliver()
    order = await client.get(f"/v1/orders/{order_id}", headers=customer.headers)
    assert order.json()["status"] == "paid"
    assert [c["amount"] for c in await sandbox.charges()] == [3000]
    paying_again = await client.post(f"/v1/orders/{order_id}/payments",
                                     json={"payment_method": "pm_card_visa"},
                                     headers=customer.paying())
    assert paying_again.status_code == 409


async def test_cancelled_after_the_charge_before_ordering_heard_of_it(
        app, client, customer, db_conn, database_url, sandbox) -> None:
    async with Deliveries(database_url) as bus:
        order_id, _ = await placed_and_confirmed(client, customer, db_conn, bus)
        await pay(client, customer, order_id)  # PaymentSucceeded not delivered yet
        cancelled = await client.post(f"/v1/orders/{order_id}/cancel", headers=customer.headers)
        assert cancelled.json()["status"] == "cancelled"
        await bus.deliver()  # ordering ignores the payment; payments owes the refund
        assert await recover_payments(app.state.db, app.state.settings) == 1
        await bus.deliver()
    assert await order_status(db_conn, order_id) == "cancelled"
    assert [p["status"] for p in await payments_of(db_conn, order_id)] == ["refunded"]
    assert [c["refunded"] for c in await sandbox.charges()] == [True]


async def test_cancelled_before_payments_heard_of_the_cancel(
        app, client, customer, db_conn, database_url, sandbox) -> None:
    async with Deliveries(database_url) as bus:
        order_id, _ = await placed_and_confirmed(client, customer, db_conn, bus)
        cancelled = await client.post(f"/v1/orders/{order_id}/cancel", headers=customer.headers)
        assert cancelled.json()["status"] == "cancelled"
        await pay(client, customer, order_id)  # payments still thinks it confirmed
        await bus.deliver()
        assert await recover_payments(app.state.db, app.state.settings) == 1
    assert await order_status(db_conn, order_id) == "cancelled"
    assert [p["status"] for p in await payments_of(db_conn, order_id)] == ["refunded"]
    assert [c["refunded"] for c in await sandbox.charges()] == [True]
    # Once payments knows, paying is refused outright.
    problem_answer = await client.post(f"/v1/orders/{order_id}/payments",
                                       json={"payment_method": "pm_card_visa"},
                                       headers=customer.paying())
    assert problem_answer.status_code == 409
