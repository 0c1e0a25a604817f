from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from features.payments.track_order import logic
from features.payments.track_order.logic import Learned
from shared.db import Tx

# A status only moves forward, whatever order the lanes deliver in: a late OrderPlaced never
# takes a confirmed order back to pending, nor a late OrderConfirmed a cancelled one (it still
# brings the amount); logic.RANK, spelled out. The row locks are the ones the payment moves
# take (../ledger.py), in order id order. One row per order: logic.folded sees to that.
_RANK = "CASE {} WHEN 'pending' THEN 1 WHEN 'confirmed' THEN 2 ELSE 3 END"
LEARN = f"""
INSERT INTO payments.orders AS o (order_id, user_id, status, total_cents, currency, updated_at)
SELECT l.order_id, l.user_id, l.status, l.total_cents, l.currency, now()
FROM unnest(%(order_ids)s::uuid[], %(user_ids)s::uuid[], %(statuses)s::text[],
            %(totals)s::bigint[], %(currencies)s::text[])
     AS l(order_id, user_id, status, total_cents, currency)
ORDER BY l.order_id
ON CONFLICT (order_id) DO UPDATE SET
    status = CASE WHEN {_RANK.format("excluded.status")} > {_RANK.format("o.status")}
                  THEN excluded.status ELSE o.status END,
    total_cents = coalesce(o.total_cents, excluded.total_cents),
    currency = coalesce(o.currency, excluded.currency),
    updated_at = now()"""

# The cancellation meets a charge that already succeeded: the refund is owed (the recovery
# sweep makes it; a paying request still in flight makes it at once).
OWE_REFUNDS = """
UPDATE payments.payments SET refund_due = true, updated_at = now()
WHERE order_id = %s AND status = 'succeeded' AND NOT refund_due"""


async def learn(tx: Tx, batch: Iterable[Learned]) -> None:
    """What each of `batch` says of its order, as if learned in turn: one statement."""
    rows = logic.folded(batch)
    await tx.execute(LEARN, {
        "order_ids": [r.order_id for r in rows], "user_ids": [r.user_id for r in rows],
        "statuses": [r.status for r in rows], "totals": [r.total_cents for r in rows],
        "currencies": [r.currency for r in rows]})


async def owe_refunds(tx: Tx, order_id: UUID) -> None:
    await tx.execute(OWE_REFUNDS, (order_id,))
