"""Writing a notification: every event handler of the module ends here.

One event is one notification: the row is keyed by (kind, source id), the order or payment or
user the event is about, so a redelivered event (or two deliveries of it racing) inserts
nothing the second time and publishes nothing again. NotificationCreated is published in the
same transaction, and the e-mail is sent by its own subscription (send_email): an SMTP outage
never holds back the row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from uuid_utils.compat import uuid7

from features.notifications.events import NotificationCreated
from features.notifications.schema import Kind, Message
from shared.db import Tx
from shared.db.events import publish

INSERT_NOTIFICATION = """
INSERT INTO notifications.notifications (id, user_id, kind, source_id, subject, body,
                                         created_at)
VALUES (%(id)s, %(user_id)s, %(kind)s, %(source_id)s, %(subject)s, %(body)s, %(created_at)s)
ON CONFLICT ON CONSTRAINT notifications_once_per_event DO NOTHING
RETURNING id"""


async def record(tx: Tx, *, user_id: UUID, kind: Kind, source_id: UUID,
                 message: Message) -> UUID | None:
    """Store the notification and announce it; None when this event was recorded before."""
    cur = await tx.execute(INSERT_NOTIFICATION, {
        "id": uuid7(), "user_id": user_id, "kind": kind, "source_id": source_id,
        "subject": message.subject, "body": message.body, "created_at": datetime.now(UTC)})
    row = await cur.fetchone()
    if row is None:
        return None
    notification_id: UUID = row["id"]
    await publish(tx, NotificationCreated(notification_id=notification_id, user_id=user_id,
                                          kind=kind))
    return notification_id
