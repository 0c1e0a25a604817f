"""With no PAYMENT_PROVIDER_URL the sandbox runs inside the process (`make run` alone)."""

from __future__ import annotations

import pytest

from features.payments.conftest import confirmed_order, payments_of
from features.payments.gateway import gateway_for
from features.payments.provider.sandbox import InProcessProvider
from features.payments.recover_payments.handler import recover_payments
from tests.fixtures import eventually, make_settings, problem


@pytest.fixture
def settings():
    return make_settings()


async def test_payments_work_with_nothing_else_running(app, client, customer, db_conn) -> None:
    gateway = gateway_for(app.state.settings)
    assert isinstance(gateway.provider, InProcessProvider)
    sandbox = gateway.provider.sandbox
    sandbox.behaviour.async_delay_ms = 10
    order_id = await confirmed_order(db_conn, customer.id)
    answer = await client.post(f"/v1/orders/{order_id}/payments",
                               json={"payment_method": "pm_card_visa"}, headers=customer.paying())
    assert answer.json()["status"] == "succeeded"
    declined = await confirmed_order(db_conn, customer.id)
    problem(await client.post(f"/v1/orders/{declined}/payments",
                              json={"payment_method": "pm_card_chargeDeclined"},
                              headers=customer.paying()), 402, "payment-declined")
    later = await confirmed_order(db_conn, customer.id)
    answer = await client.post(f"/v1/orders/{later}/payments",
                               json={"payment_method": "pm_card_async"}, headers=customer.paying())
    assert answer.json()["status"] == "processing"
    # The in-process sandbox sends no webhooks: the sweep completes the async charge.
    await eventually(lambda: sandbox.charges[f"payment-{answer.json()['id']}"].status
                     == "succeeded")
    assert await recover_payments(app.state.db, app.state.settings, older_than=0) == 1
    assert (await payments_of(db_conn, later))[0]["status"] == "succeeded"
