from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.db import Tx

OUTGOING = """
SELECT n.id, n.subject, n.body, n.created_at, r.email, r.name
FROM notifications.notifications n
LEFT JOIN notifications.recipients r ON r.user_id = n.user_id
WHERE n.id = %s"""


async def outgoing(tx: Tx, notification_id: UUID) -> dict[str, Any] | None:
    cur = await tx.execute(OUTGOING, (notification_id,))
    return await cur.fetchone()
