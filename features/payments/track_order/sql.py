from __future__ import annotations

from uuid import UUID

from shared.db import Tx

# pending -> confirmed -> rejected | cancelled (both final)
RANK = {"pending": 1, "confirmed": 2, "rejected": 3, "cancelled": 3}

# A status only moves forward, whatever order the lanes deliver in: a late OrderPlaced never
# takes a confirmed order back to pending, nor a late OrderConfirmed a cancelled one (it still
# brings the amount). The row lock is the one the payment moves take (../ledger.py).
LEARN = """
INSERT INTO payments.orders AS o (order_id, user_id, status, total_cents, currency, updated_at)
VALUES (%(order_id)s, %(user_id)s, %(status)s, %(total_cents)s, %(currency)s, now())
ON CONFLICT (order_id) DO UPDATE SET
    status = CASE WHEN %(rank)s > (CASE o.status WHEN 'pending' THEN 1 WHEN 'confirmed' THEN 2
                                                 ELSE 3 END)
                  THEN excluded.status ELSE o.status END,
    total_cents = coalesce(o.total_cents, excluded.total_cents),
    currency = coalesce(o.currency, excluded.currency),
    updated_at = now()"""

# The cancellation meets a charge that already succeeded: the refund is owed (the recovery
# sweep makes it; a paying request still in flight makes it at once).
OWE_REFUNDS = """
UPDATE payments.payments SET refund_due = true, updated_at = now()
WHERE order_id = %s AND status = 'succeeded' AND NOT refund_due"""


async def learn(tx: Tx, order_id: UUID, user_id: UUID, status: str,
                total_cents: int | None = None, currency: str | None = None) -> None:
    await tx.execute(LEARN, {"order_id": order_id, "user_id": user_id, "status": status,
                             "total_cents": total_cents, "currency": currency,
                             "rank": RANK[status]})


async def owe_refunds(tx: Tx, order_id: UUID) -> None:
    await tx.execute(OWE_REFUNDS, (order_id,))
