"""Writing a notification: every event handler of the module ends here.

One event is one notification: the row is keyed by (kind, source id), the order or payment or
user the event is about, so a redelivered event (or two deliveries of it racing) inserts
nothing the second time and publishes nothing again. NotificationCreated is published in the
same transaction, and the e-mail is sent by its own subscription (send_email): an SMTP outage
never holds back the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import msgspec
from uuid_utils.compat import uuid7

from features.notifications.events import NotificationCreated
from features.notifications.schema import Kind, Message
from shared.db import Tx
from shared.db.events import publish

# Many at once (an event handler's batch) or one: the unique index's entries are taken in
# (kind, source id) order, so two batches never wait for each other in a circle; the same
# event twice in one batch meets the constraint like a redelivery and writes nothing.
INSERT_NOTIFICATIONS = """
INSERT INTO notifications.notifications (id, user_id, kind, source_id, subject, body,
                                         created_at)
SELECT n.id, n.user_id, n.kind, n.source_id, n.subject, n.body, %(created_at)s
FROM unnest(%(ids)s::uuid[], %(user_ids)s::uuid[], %(kinds)s::text[], %(source_ids)s::uuid[],
            %(subjects)s::text[], %(bodies)s::text[])
     AS n(id, user_id, kind, source_id, subject, body)
ORDER BY n.kind, n.source_id
ON CONFLICT ON CONSTRAINT notifications_once_per_event DO NOTHING
RETURNING id, user_id, kind"""


class Draft(msgspec.Struct, frozen=True):
    """A notification to record: who, of what kind, about what (the event's subject)."""
    user_id: UUID
    kind: Kind
    source_id: UUID
    message: Message


async def record(tx: Tx, *, user_id: UUID, kind: Kind, source_id: UUID,
                 message: Message) -> UUID | None:
    """Store the notification and announce it; None when this event was recorded before."""
    made = await record_many(tx, [Draft(user_id, kind, source_id, message)])
    return made[0] if made else None


async def record_many(tx: Tx, drafts: Sequence[Draft]) -> list[UUID]:
    """`record` for each of `drafts`, in one statement: the ids of those not recorded before,
    each announced."""
    if not drafts:
        return []
    cur = await tx.execute(INSERT_NOTIFICATIONS, {
        "ids": [uuid7() for _ in drafts], "user_ids": [d.user_id for d in drafts],
        "kinds": [d.kind for d in drafts], "source_ids": [d.source_id for d in drafts],
        "subjects": [d.message.subject for d in drafts],
        "bodies": [d.message.body for d in drafts], "created_at": datetime.now(UTC)})
    made = await cur.fetchall()
    for row in made:
        await publish(tx, NotificationCreated(notification_id=row["id"], user_id=row["user_id"],
                                              kind=row["kind"]))
    return [row["id"] for row in made]
