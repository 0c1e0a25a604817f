from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from shared.db import Tx

# The first word about a user is kept: a redelivered (older) event must not overwrite it.
INSERT_RECIPIENT = """
INSERT INTO notifications.recipients (user_id, email, name, created_at) VALUES (%s, %s, %s, %s)
ON CONFLICT (user_id) DO NOTHING"""


async def insert_recipient(tx: Tx, user_id: UUID, email: str, name: str) -> None:
    await tx.execute(INSERT_RECIPIENT, (user_id, email, name, datetime.now(UTC)))
