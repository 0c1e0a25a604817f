from __future__ import annotations

from shared.db import Tx

# Each provider event id takes effect once: the insert and the effect commit together.
FIRST_TIME = """
INSERT INTO payments.webhook_events (event_id, type) VALUES (%s, %s)
ON CONFLICT (event_id) DO NOTHING RETURNING event_id"""


async def first_time(tx: Tx, event_id: str, kind: str) -> bool:
    return await (await tx.execute(FIRST_TIME, (event_id, kind))).fetchone() is not None
