"""Publishing events: the write side of the transactional outbox.

`publish(tx, event)` stores the event and one delivery row per subscriber in the caller's
transaction, then NOTIFYs the relays (PostgreSQL delivers the notification on commit). If the
transaction rolls back, the event and its deliveries vanish with it. The relay that delivers
them lives in shared/db/relay.py.
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
# First key of the two-key advisory locks publishers take per aggregate ("RAMO"); the two-key
# space never collides with single-bigint locks such as the migration runner's.
AGGREGATE_LOCK_SPACE = 0x52414D4F


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every published event. The class name is the event type.

    `aggregate` names the field whose value is the ordering key: deliveries of events with the
    same key reach each subscriber in commit order.
    """

    aggregate: ClassVar[str]

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__


# event type -> subscriber names, from the module manifests. None until registered.
_subscribers: dict[str, tuple[str, ...]] | None = None


def register(subscriptions: Iterable[Subscription]) -> None:
    """Set who receives each event type (the app factory and the worker call this)."""
    global _subscribers
    table: dict[str, list[str]] = {}
    for sub in subscriptions:
        table.setdefault(sub.event_type, []).append(sub.name)
    _subscribers = {k: tuple(v) for k, v in table.items()}


def subscribers_of(event_type: str) -> tuple[str, ...]:
    if _subscribers is None:
        # A process that never registered (a CLI command such as create-admin) must not
        # silently publish events nobody will receive: read the manifests on first use.
        from shared.modules import discover

        register(s for m in discover() for s in m.subscriptions)
    assert _subscribers is not None
    return _subscribers.get(event_type, ())


# One round trip. The advisory lock serialises publishers of one aggregate until they commit,
# so the identity `seq` drawn after it grows in commit order within that aggregate; the relay
# delivers each (subscriber, aggregate) lane in seq order. The lock is released at commit.
_PUBLISH = """
WITH lock AS (
    SELECT pg_advisory_xact_lock(%(space)s, %(key)s)
), event AS (
    INSERT INTO kernel.outbox_events (id, type, aggregate_id, payload, traceparent, occurred_at)
    SELECT %(id)s, %(type)s, %(aggregate_id)s, %(payload)s, %(traceparent)s, %(occurred_at)s
    FROM lock
    RETURNING seq
), deliveries AS (
    INSERT INTO kernel.outbox_deliveries (id, event_id, subscriber, aggregate_id, seq)
    SELECT s.id, %(id)s, s.subscriber, %(aggregate_id)s, event.seq
    FROM event, unnest(%(delivery_ids)s::uuid[], %(subscribers)s::text[]) AS s(id, subscriber)
)
SELECT pg_notify(%(channel)s, '') FROM event WHERE cardinality(%(subscribers)s::text[]) > 0"""


async def publish(tx: Tx, event: Event) -> UUID:
    event_id = uuid7()
    aggregate_id = getattr(event, type(event).aggregate)
    subscribers = list(subscribers_of(event.type_name()))
    await tx.execute(_PUBLISH, {
        "space": AGGREGATE_LOCK_SPACE,
        # UUIDv7's last bytes are random: a fine hash. A collision only serialises two
        # unrelated aggregates' publishers for a moment.
        "key": int.from_bytes(aggregate_id.bytes[-4:], "big", signed=True),
        "id": event_id, "type": event.type_name(), "aggregate_id": aggregate_id,
        "payload": msgspec.json.encode(event).decode(), "traceparent": current_traceparent(),
        "occurred_at": datetime.now(UTC), "delivery_ids": [uuid7() for _ in subscribers],
        "subscribers": subscribers, "channel": NOTIFY_CHANNEL,
    })
    return event_id
