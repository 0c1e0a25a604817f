"""The SQL every ordering slice shares: read orders with their lines, move one along the
lifecycle. Slice-specific statements live in each slice's sql.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from features.ordering import lifecycle
from shared.db import Tx

# An order with its lines in submission order, as one row (the lines as a JSON array).
ORDER_COLUMNS = """
    o.id, o.user_id, o.status, o.total_cents, o.currency, o.rejection_reason, o.version,
    o.created_at, o.updated_at,
    (SELECT json_agg(json_build_object('product_id', l.product_id, 'quantity', l.quantity,
                                       'unit_price_cents', l.unit_price_cents)
                     ORDER BY l.position)
     FROM ordering.order_lines l WHERE l.order_id = o.id) AS items"""

# ANY(%s): reads of orders that arrive together share one statement (shared/db/batching.py).
GET_ORDERS = f"SELECT {ORDER_COLUMNS} FROM ordering.orders o WHERE o.id = ANY(%s)"

# One statement: the status check and the move cannot be split by another writer.
TRANSITION = f"""
UPDATE ordering.orders AS o
SET status = %(to)s, rejection_reason = %(reason)s, version = o.version + 1,
    updated_at = %(now)s
WHERE o.id = %(id)s AND o.status = ANY(%(sources)s)
RETURNING {ORDER_COLUMNS}"""
# The same move for many orders (an event handler's batch): the rows are locked in id order
# (a btree scan of `= ANY` takes the keys sorted), so two batches never wait in a circle.
TRANSITION_MANY = f"""
UPDATE ordering.orders AS o
SET status = %(to)s, rejection_reason = NULL, version = o.version + 1, updated_at = %(now)s
WHERE o.id = ANY(%(ids)s) AND o.status = ANY(%(sources)s)
RETURNING {ORDER_COLUMNS}"""


async def get_order(tx: Tx, order_id: UUID) -> dict[str, Any] | None:
    cur = await tx.execute(GET_ORDERS, ([order_id],))
    return await cur.fetchone()


async def transition(tx: Tx, order_id: UUID, action: lifecycle.Action, *,
                     reason: str | None = None) -> dict[str, Any] | None:
    """Apply `action` if the order's status allows it; the order after the move, or None when
    the order is missing or in a status the move cannot start from."""
    cur = await tx.execute(TRANSITION, {
        "id": order_id, "to": lifecycle.target(action), "sources": lifecycle.sources(action),
        "reason": reason, "now": datetime.now(UTC)})
    return await cur.fetchone()


async def transition_many(tx: Tx, order_ids: list[UUID],
                          action: lifecycle.Action) -> list[dict[str, Any]]:
    """`transition` for each of `order_ids` (no reason): the orders that moved, by id."""
    cur = await tx.execute(TRANSITION_MANY, {
        "ids": sorted(set(order_ids)), "to": lifecycle.target(action),
        "sources": lifecycle.sources(action), "now": datetime.now(UTC)})
    return sorted(await cur.fetchall(), key=lambda row: row["id"])
