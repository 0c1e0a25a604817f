from __future__ import annotations

from typing import Any

from shared.db import Tx

# Payments left `processing` past the time any call for them could still be under way (a crash
# or a timeout between the call and its outcome), and charges owed back. Index
# payments_unfinished keeps this a short list however many payments exist.
UNFINISHED = """
SELECT id, status, refund_due, provider_charge_id, amount_cents, currency, payment_method
FROM payments.payments
WHERE (status = 'processing' AND updated_at < now() - make_interval(secs => %s)) OR refund_due
ORDER BY updated_at LIMIT %s"""


async def unfinished(conn: Tx, older_than: float, limit: int) -> list[dict[str, Any]]:
    return await (await conn.execute(UNFINISHED, (older_than, limit))).fetchall()
