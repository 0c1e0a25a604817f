"""The recovery sweep: settles `processing` payments by asking the provider, makes owed
refunds, and runs in the relay as a periodic job."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys

import httpx
import pytest

from features.payments.conftest import confirmed_order, events_of, payments_of
from features.payments.recover_payments.handler import recover_payments
from shared.db import Database
from tests.fixtures import TEST_SIGNING_KEY, eventually, free_port, problem
from tests.payments_sandbox import ROOT, WEBHOOK_SECRET


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


@pytest.fixture
def killable_server(database_url, sandbox_url):
    """A real `rampart serve` in its own process group, against the sandbox."""
    env = {**os.environ, "DATABASE_URL": database_url, "TOKEN_SIGNING_KEY": TEST_SIGNING_KEY,
           "LOG_LEVEL": "WARNING", "RELAY_ENABLED": "false",
           "PAYMENT_PROVIDER_URL": sandbox_url, "PAYMENT_WEBHOOK_SECRET": WEBHOOK_SECRET}
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "shared", "serve", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    yield server, f"http://127.0.0.1:{port}"
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()


async def test_a_server_killed_during_the_call_is_recovered_with_one_charge(
        app, customer, db_conn, database_url, sandbox, killable_server) -> None:
    """SIGKILL while the provider call is in flight: nothing after the call ran."""
    server, base = killable_server
    order_id = await confirmed_order(db_conn, customer.id)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        async def up():
            with contextlib.suppress(httpx.HTTPError):
                return (await http.get("/health/live")).status_code == 200
        await eventually(up, timeout=30)
        await sandbox.behave(latency_ms=3000)  # the answer is slow to come back
        paying = asyncio.create_task(http.post(
            url(order_id), json={"payment_method": "pm_card_visa"}, headers=customer.paying()))
        await eventually(sandbox.charges, timeout=15)  # the provider has charged
        os.killpg(server.pid, signal.SIGKILL)
        with pytest.raises(httpx.HTTPError):
            await paying
    [payment] = await payments_of(db_conn, order_id)
    assert payment["status"] == "processing"
    await sandbox.behave()
    db = Database(database_url, min_size=1, max_size=2)
    await db.open()
    try:
        assert await recover_payments(db, app.state.settings, older_than=0) == 1
    finally:
        await db.close()
    [payment] = await payments_of(db_conn, order_id)
    assert payment["status"] == "succeeded"
    assert len(await sandbox.charges()) == 1
    assert len(await events_of(db_conn, "PaymentSucceeded", order_id)) == 1
