"""Publishing events: the write side of the transactional outbox.

`publish(tx, event)` stores the event and one delivery row per subscriber in the caller's
transaction, then NOTIFYs the relays (PostgreSQL delivers the notification on commit). If the
transaction rolls back, the event and its deliveries vanish with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

import msgspec
from uuid_utils.compat import uuid7

from shared.logging.tracing import current_traceparent

if TYPE_CHECKING:
    from shared.db.pool import Tx
    from shared.modules import Subscription

NOTIFY_CHANNEL = "rampart_outbox"


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every published event. The class name is the event type.

    `aggregate` names the field whose value is the ordering key: deliveries of events with the
    same key reach each subscriber in commit order.
    """

    aggregate: ClassVar[str]

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__


# event type -> subscriber names; filled from the module manifests when the app or worker starts
_subscribers: dict[str, tuple[str, ...]] = {}


def register(subscriptions: Iterable[Subscription]) -> None:
    table: dict[str, list[str]] = {}
    for sub in subscriptions:
        table.setdefault(sub.event_type, []).append(sub.name)
    _subscribers.clear()
    _subscribers.update({k: tuple(v) for k, v in table.items()})


_INSERT_EVENT = """
INSERT INTO kernel.outbox_events (id, type, aggregate_id, payload, traceparent, occurred_at)
VALUES (%s, %s, %s, %s, %s, %s)"""
_INSERT_DELIVERIES = """
INSERT INTO kernel.outbox_deliveries (id, event_id, subscriber, aggregate_id)
SELECT s.id, %s, s.subscriber, %s
FROM unnest(%s::uuid[], %s::text[]) AS s(id, subscriber)"""


async def publish(tx: Tx, event: Event) -> UUID:
    event_id = uuid7()
    aggregate_id = getattr(event, type(event).aggregate)
    payload = msgspec.json.encode(event).decode()
    await tx.execute(_INSERT_EVENT, (event_id, event.type_name(), aggregate_id, payload,
                                     current_traceparent(), datetime.now(UTC)))
    subscribers = _subscribers.get(event.type_name(), ())
    if subscribers:
        await tx.execute(_INSERT_DELIVERIES, (event_id, aggregate_id,
                                              [uuid7() for _ in subscribers], list(subscribers)))
        await tx.execute("SELECT pg_notify(%s, '')", (NOTIFY_CHANNEL,))
    return event_id
