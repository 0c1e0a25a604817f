"""The recovery sweep: settles `processing` payments by asking the provider, makes owed
refunds, and runs in the relay as a periodic job."""

from __future__ import annotations

import asyncio

import pytest

from features.payments.conftest import confirmed_order, events_of, payments_of
from features.payments.recover_payments.handler import recover_payments
from tests.fixtures import eventually, problem


def url(order_id) -> str:
    return f"/v1/orders/{order_id}/payments"


async def stuck(client, customer, db_conn, sandbox):
    """A payment whose call timed out after the sandbox recorded the charge."""
    order_id = await confirmed_order(db_conn, customer.id)
    await sandbox.behave(latency_ms=1500)
    problem(await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                              headers=customer.paying()), 503, "service-unavailable")
    await sandbox.behave()
    return order_id


async def test_a_young_processing_payment_is_left_alone(app, client, customer, db_conn,
                                                        sandbox) -> None:
    order_id = await stuck(client, customer, db_conn, sandbox)
    # The default grace (PAYMENT_RECOVERY_AFTER_SECONDS=30): a call could still be under way.
    assert await recover_payments(app.state.db, app.state.settings) == 0
    assert (await payments_of(db_conn, order_id))[0]["status"] == "processing"


async def test_an_unreachable_provider_leaves_it_for_the_next_sweep(app, client, customer,
                                                                    db_conn, sandbox) -> None:
    order_id = await stuck(client, customer, db_conn, sandbox)
    await sandbox.behave(failure="error", failures_left=1)
    assert await recover_payments(app.state.db, app.state.settings, older_than=0) == 0
    assert (await payments_of(db_conn, order_id))[0]["status"] == "processing"
    assert await recover_payments(app.state.db, app.state.settings, older_than=0) == 1
    assert len(await sandbox.charges()) == 1


async def test_two_sweeps_at_once_settle_once(app, client, customer, db_conn, sandbox) -> None:
    order_id = await stuck(client, customer, db_conn, sandbox)
    moved = await asyncio.gather(*(recover_payments(app.state.db, app.state.settings,
                                                    older_than=0) for _ in range(2)))
    assert sorted(moved) == [0, 1]
    assert len(await events_of(db_conn, "PaymentSucceeded", order_id)) == 1
    assert len(await sandbox.charges()) == 1


class TestInTheRelay:
    @pytest.fixture
    def payment_settings(self):
        return {"relay_enabled": "true", "payment_recovery_interval_seconds": 1,
                "payment_recovery_after_seconds": 2}

    async def test_the_relay_runs_the_sweep(self, client, customer, db_conn, sandbox) -> None:
        order_id = await stuck(client, customer, db_conn, sandbox)

        async def settled():
            return (await payments_of(db_conn, order_id))[0]["status"] == "succeeded"
        await eventually(settled, timeout=15)
        assert len(await sandbox.charges()) == 1
