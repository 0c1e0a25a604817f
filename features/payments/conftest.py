"""What every payments test uses: settings that point at the sandbox provider (a real HTTP
server on loopback, `sandbox_url` and `sandbox` from tests/payments_sandbox.py, shared with
the end-to-end stories in tests/), and the scenes (a confirmed order, a customer).
"""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

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
from tests.fixtures import bearer, make_settings
from tests.payments_sandbox import WEBHOOK_SECRET


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
