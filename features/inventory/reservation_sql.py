"""The SQL inventory's saga handlers share (reserve on OrderPlaced, release on OrderCancelled,
ship on OrderShipped).

Two rules keep them right under any order of arrival and any concurrency:
- One order at a time: each handler first takes a transaction-scoped advisory lock on the
  order, so reserve and release of one order (two lanes, maybe two relays) never interleave,
  and each one's statements see what the other committed.
- Stock rows are locked in product-id order, so two orders sharing products never deadlock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from shared.db import Tx

# First key of inventory's two-key advisory locks ("INVO"): its own space, shared with nobody.
ORDER_LOCK_SPACE = 0x494E564F

LOCK_ORDER = "SELECT pg_advisory_xact_lock(%s, %s)"
# Many orders' locks, in the order of their (sorted) keys: see lock_orders.
LOCK_ORDERS = """
SELECT pg_advisory_xact_lock(%s, key) FROM unnest(%s::integer[]) WITH ORDINALITY AS k(key, n)
ORDER BY n"""

RESERVATION = "SELECT status FROM inventory.reservations WHERE order_id = %s"
RESERVATIONS = "SELECT order_id, status FROM inventory.reservations WHERE order_id = ANY(%s)"

# Unknown products are simply absent from the answer: they count as nothing available.
LOCK_STOCK = """
SELECT product_id, on_hand, reserved FROM inventory.stock_levels
WHERE product_id = ANY(%s)
ORDER BY product_id
FOR UPDATE"""

RESERVED_LINES = """
SELECT product_id, quantity FROM inventory.reservation_lines WHERE order_id = %s"""


def _order_key(order_id: UUID) -> int:
    return int.from_bytes(hashlib.blake2b(order_id.bytes, digest_size=4).digest(), "big",
                          signed=True)


async def lock_order(tx: Tx, order_id: UUID) -> None:
    await tx.execute(LOCK_ORDER, (ORDER_LOCK_SPACE, _order_key(order_id)))


async def lock_orders(tx: Tx, order_ids: Sequence[UUID]) -> None:
    """Every order's lock, in ascending key order, before any stock row: a transaction that
    handles many orders then takes its locks in the same global order as every other (one
    order's lock, then stock rows in product order), so none waits for another in a circle."""
    keys = sorted({_order_key(order_id) for order_id in order_ids})
    await tx.execute(LOCK_ORDERS, (ORDER_LOCK_SPACE, keys))


async def reservation_status(tx: Tx, order_id: UUID) -> str | None:
    cur = await tx.execute(RESERVATION, (order_id,))
    row = await cur.fetchone()
    return None if row is None else row["status"]


async def reservation_statuses(tx: Tx, order_ids: Sequence[UUID]) -> dict[UUID, str]:
    """The status of each order that has a reservation row; orders without one are absent."""
    cur = await tx.execute(RESERVATIONS, (list(order_ids),))
    return {row["order_id"]: row["status"] for row in await cur.fetchall()}


async def lock_stock(tx: Tx, product_ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
    cur = await tx.execute(LOCK_STOCK, (sorted(product_ids),))
    return {row["product_id"]: row for row in await cur.fetchall()}


async def reserved_lines(tx: Tx, order_id: UUID) -> dict[UUID, int]:
    cur = await tx.execute(RESERVED_LINES, (order_id,))
    return {row["product_id"]: row["quantity"] for row in await cur.fetchall()}
