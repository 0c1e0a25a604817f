"""What every payments test uses: the sandbox provider as a real HTTP server on loopback
(`rampart payments-sandbox`, one process for the run, reset before each test), settings that
point at it, and the scenes (a confirmed order, a customer).

The sandbox is never replaced by a fake: timeouts, refused connections and 5xx are real.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
from uuid_utils.compat import uuid7

from features.payments.track_order.handler import (
    OrderCancelled,
    OrderConfirmed,
    OrderPlaced,
    order_cancelled,
    order_confirmed,
    order_placed,
)
from tests.fixtures import bearer, free_port, make_settings

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = f"whsec_test_{secrets.token_hex(16)}"


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PAYMENT_WEBHOOK_SECRET": WEBHOOK_SECRET, "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "shared", "payments-sandbox", "--port", str(port)], cwd=ROOT,
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/_sandbox/behaviour", timeout=1).status_code == 200:
                break
        time.sleep(0.1)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(process.stderr.read().decode() if process.stderr else "no start")
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class SandboxControl:
    """The sandbox's control routes: behaviour, and its own record of what it charged."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def behave(self, **behaviour: Any) -> None:
        answer = await self.client.put("/_sandbox/behaviour", json=behaviour)
        assert answer.status_code == 200, answer.text

    async def charges(self) -> list[dict[str, Any]]:
        return (await self.client.get("/_sandbox/charges")).json()["data"]

    async def calls(self) -> int:
        return (await self.client.get("/_sandbox/charges")).json()["calls"]

    async def events(self) -> list[dict[str, Any]]:
        return (await self.client.get("/_sandbox/events")).json()["data"]


@pytest.fixture
async def sandbox(sandbox_url: str) -> AsyncIterator[SandboxControl]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as client:
        assert (await client.post("/_sandbox/reset")).status_code == 204
        yield SandboxControl(client)


@pytest.fixture
def payment_settings() -> dict[str, Any]:
    """Override in a test module to change the payment settings."""
    return {}


@pytest.fixture
def settings(sandbox, sandbox_url, payment_settings):  # sandbox: reset before the app starts
    return make_settings(payment_provider_url=sandbox_url, payment_webhook_secret=WEBHOOK_SECRET,
                         payment_timeout_ms=1000, payment_connect_timeout_ms=500,
                         **payment_settings)


async def deliver(db_conn: psycopg.AsyncConnection[Any], handler: Any, event: Any) -> None:
    """Run a subscription handler as the relay does: in a transaction of its own."""
    async with db_conn.transaction():
        await handler(event, db_conn)


async def confirmed_order(db_conn: psycopg.AsyncConnection[Any], user_id: UUID,
                          total_cents: int = 4200, currency: str = "EUR") -> UUID:
    order_id = uuid7()
    await deliver(db_conn, order_placed, OrderPlaced(order_id=order_id, user_id=user_id))
    await deliver(db_conn, order_confirmed, OrderConfirmed(
        order_id=order_id, user_id=user_id, total_cents=total_cents, currency=currency))
    return order_id


async def cancel(db_conn: psycopg.AsyncConnection[Any], order_id: UUID, user_id: UUID) -> None:
    await deliver(db_conn, order_cancelled, OrderCancelled(order_id=order_id, user_id=user_id))


class Customer:
    def __init__(self, app: Any) -> None:
        self.id = uuid7()
        self.headers = bearer(app, role="customer", user_id=self.id)

    def paying(self, key: str | None = None) -> dict[str, str]:
        return {**self.headers, "Idempotency-Key": key or secrets.token_hex(8)}


@pytest.fixture
def customer(app: Any) -> Customer:
    return Customer(app)


async def events_of(db_conn: psycopg.AsyncConnection[Any], kind: str,
                    order_id: UUID) -> list[dict[str, Any]]:
    cur = await db_conn.execute(
        "SELECT payload::jsonb AS payload FROM kernel.outbox_events"
        " WHERE type = %s AND aggregate_id = %s ORDER BY seq", (kind, order_id))
    return [row["payload"] for row in await cur.fetchall()]


async def payments_of(db_conn: psycopg.AsyncConnection[Any],
                      order_id: UUID) -> list[dict[str, Any]]:
    cur = await db_conn.execute("SELECT * FROM payments.payments WHERE order_id = %s ORDER BY id",
                                (order_id,))
    return await cur.fetchall()
