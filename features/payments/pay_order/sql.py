from __future__ import annotations

from typing import Any, NamedTuple
from uuid import UUID

import msgspec

from features.payments.pay_order.logic import NewPayment
from features.payments.schema import PAYMENT_COLUMNS
from shared.db import Tx

FIND_ORDER = """
SELECT order_id, user_id, status, total_cents, currency FROM payments.orders
WHERE order_id = %s"""

# The payment this very request made before (a retry of a call that timed out), if any.
FIND_FOR_REQUEST = f"""
SELECT {PAYMENT_COLUMNS} FROM payments.payments
WHERE order_id = %s AND request_key = %s ORDER BY id DESC LIMIT 1"""

FIND_LIVE = """
SELECT id, status FROM payments.payments
WHERE order_id = %s AND status IN ('processing', 'succeeded')"""

# Phase 1: committed before the provider is called. Fails on payments_one_live_per_order when
# another payment of the order is processing or succeeded.
INSERT_PROCESSING = """
INSERT INTO payments.payments (id, order_id, user_id, amount_cents, currency, payment_method,
                               status, request_key, created_at, updated_at)
VALUES (%(id)s, %(order_id)s, %(user_id)s, %(amount_cents)s, %(currency)s, %(payment_method)s,
        'processing', %(request_key)s, %(created_at)s, %(created_at)s)"""

# The circuit opened between phase 1 and the call: no call went out, so nothing is owed.
FORGET_UNSENT = "DELETE FROM payments.payments WHERE id = %s AND status = 'processing'"

READ = f"SELECT {PAYMENT_COLUMNS}, refund_due, provider_charge_id FROM payments.payments " \
       "WHERE id = %s"


class Found(NamedTuple):
    order: dict[str, Any] | None  # as payments knows it
    earlier: dict[str, Any] | None  # the payment this request made before
    live: dict[str, Any] | None  # the order's processing or succeeded payment


async def find(tx: Tx, order_id: UUID, key: bytes) -> Found:
    """What the request needs to know before it pays: three reads in one round trip."""
    async with tx.pipeline():
        order = await tx.execute(FIND_ORDER, (order_id,))
        earlier = await tx.execute(FIND_FOR_REQUEST, (order_id, key))
        live = await tx.execute(FIND_LIVE, (order_id,))
    return Found(await order.fetchone(), await earlier.fetchone(), await live.fetchone())


async def find_live(tx: Tx, order_id: UUID) -> dict[str, Any] | None:
    return await (await tx.execute(FIND_LIVE, (order_id,))).fetchone()


async def insert_processing(tx: Tx, payment: NewPayment) -> None:
    await tx.execute(INSERT_PROCESSING, msgspec.structs.asdict(payment))


async def forget_unsent(tx: Tx, payment_id: UUID) -> None:
    await tx.execute(FORGET_UNSENT, (payment_id,))


async def read(tx: Tx, payment_id: UUID) -> dict[str, Any]:
    row = await (await tx.execute(READ, (payment_id,))).fetchone()
    assert row is not None
    return row
