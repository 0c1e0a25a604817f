"""Publishing events: the write side of the transactional outbox.

`publish(tx, event)` stores the event and one delivery row per subscriber in the caller's
transaction. If the transaction rolls back, the event and its deliveries vanish with it. The
relay that delivers them lives in shared/db/relay.py.

Waking the relays. A transaction that NOTIFYs takes a database-wide lock from its commit until
the commit is flushed, so NOTIFY inside every writing transaction puts all writers in single
file (measured: two inserts 4.8-6.1k tps at pgbench -c16, 1.4-2.1k with pg_notify). So a
transaction the kernel owns (`Database.transaction()`, the Idempotency-Key transaction) runs
inside `announcing()`: publish() only notes that it published, and once the transaction has
committed, the relays of this process are woken in-process and the others by one NOTIFY sent
from a connection of its own (`_Notifier`: the first at once, then at most one per
`NOTIFY_GAP` seconds however many commits ask), unless a relay of this process takes the work:
an idle one at once, or the one whose handler committed, right after its batch. A transaction
the kernel does not own (a bare psycopg connection) still NOTIFYs from inside, which is always
right, only slower. Either way a wake-up is a hint: the relay's poll guarantees delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

import msgspec
import structlog
from psycopg import AsyncCursor
from uuid_utils.compat import uuid7

from shared.logging.tracing import current_traceparent

if TYPE_CHECKING:
    from shared.db.pool import Database, Tx
    from shared.modules import Subscription

log = structlog.get_logger("rampart.outbox")
NOTIFY_CHANNEL = "rampart_outbox"
NOTIFY_GAP = 0.005  # seconds between two NOTIFYs of one process, at most
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
# `notify` is false inside `announcing()`, where the wake-up comes after the commit instead.
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
SELECT pg_notify(%(channel)s, '') FROM event WHERE %(notify)s"""


# Every event of a commit in one statement (write_pending): the same rows as _PUBLISH once per
# event, in the same order. The events travel as one JSON document, a text parameter: psycopg
# dumps a list parameter in Python (about 20 us each; _PUBLISH has two), so even for one event
# this costs less (measured: 455-480 against 555-600 us of client CPU for a commit of one).
# Every aggregate's lock is taken, in ascending key order, before the first event is
# inserted (the aggregate must finish before `locks` yields its row), and the events are
# inserted in the order given, so their seqs are drawn in that order, under their locks.
_PUBLISH_MANY = """
WITH input AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset(%(events)s::jsonb) AS i(
        n integer, id uuid, type text, aggregate_id uuid, payload jsonb, traceparent text,
        occurred_at timestamptz, deliveries jsonb)
), locks AS (
    SELECT count(pg_advisory_xact_lock(%(space)s, key::integer)) AS taken
    FROM jsonb_array_elements_text(%(keys)s::jsonb) AS key
), event AS (
    INSERT INTO kernel.outbox_events (id, type, aggregate_id, payload, traceparent, occurred_at)
    SELECT i.id, i.type, i.aggregate_id, i.payload, i.traceparent, i.occurred_at
    FROM input i, locks
    ORDER BY i.n
    RETURNING id, aggregate_id, seq
)
INSERT INTO kernel.outbox_deliveries (id, event_id, subscriber, aggregate_id, seq)
SELECT d.id, event.id, d.subscriber, event.aggregate_id, event.seq
FROM event JOIN input i ON i.id = event.id,
     jsonb_to_recordset(i.deliveries) AS d(id uuid, subscriber text)"""


async def publish(tx: Tx, event: Event) -> UUID:
    """Store `event` and its deliveries in `tx`'s transaction. In a transaction the kernel owns
    (`announcing()`), the statement waits for the commit and travels with it (one round trip
    fewer, and the aggregate's lock is held only for the commit); anywhere else it runs now."""
    event_id = uuid7()
    aggregate_id = getattr(event, type(event).aggregate)
    subscribers = list(subscribers_of(event.type_name()))
    params = {
        "space": AGGREGATE_LOCK_SPACE,
        # UUIDv7's last bytes are random: a fine hash. A collision only serialises two
        # unrelated aggregates' publishers for a moment.
        "key": int.from_bytes(aggregate_id.bytes[-4:], "big", signed=True),
        "id": event_id, "type": event.type_name(), "aggregate_id": aggregate_id,
        "payload": msgspec.json.encode(event).decode(), "traceparent": current_traceparent(),
        "occurred_at": datetime.now(UTC), "delivery_ids": [uuid7() for _ in subscribers],
        "subscribers": subscribers, "channel": NOTIFY_CHANNEL, "notify": False,
    }
    scope = _announcing.get()
    # Inside a savepoint of the slice's own (psycopg's `tx.transaction()`), the event must
    # roll back with the savepoint: it is written at once.
    if scope is not None and scope.conn is tx and not getattr(tx, "_num_transactions", 0):
        scope.published = True
        scope.pending.append(params)
        return event_id
    params["notify"] = bool(subscribers) and not _wake_after_commit(tx)
    await tx.execute(_PUBLISH, params)
    return event_id


async def write_pending(tx: Tx) -> None:
    """The kernel, committing a transaction it owns, in the pipeline that ends with COMMIT:
    write the events published in it, in the order they were published."""
    scope = _announcing.get()
    if scope is None or scope.conn is not tx:
        return
    pending, scope.pending = scope.pending, []
    if not pending:  # nothing published: no statement (an adjustment, a 4xx kept)
        return
    # In the order of their aggregates' lock keys (stable: one aggregate's events keep theirs),
    # so that two commits publishing for the same aggregates never wait on each other in a
    # circle: the locks are the last a transaction takes, always in ascending order.
    ordered = sorted(pending, key=lambda p: p["key"])  # type: ignore[arg-type, return-value]
    await tx.execute(_PUBLISH_MANY, {
        "space": AGGREGATE_LOCK_SPACE,
        "keys": msgspec.json.encode(sorted({p["key"] for p in ordered})).decode(),
        "events": msgspec.json.encode([{
            "n": n, "id": p["id"], "type": p["type"], "aggregate_id": p["aggregate_id"],
            "payload": msgspec.Raw(p["payload"].encode()),  # type: ignore[attr-defined]
            "traceparent": p["traceparent"], "occurred_at": p["occurred_at"],
            "deliveries": [{"id": i, "subscriber": s}  # type: ignore[attr-defined]
                           for i, s in zip(p["delivery_ids"], p["subscribers"], strict=True)],
        } for n, p in enumerate(ordered)]).decode(),
    })


def has_pending(tx: Tx) -> bool:
    scope = _announcing.get()
    return scope is not None and scope.conn is tx and bool(scope.pending)


def discard_pending(tx: Tx) -> None:
    """The kernel rolled the effects back (the idempotency kernel keeps a 4xx answer, not its
    effects): forget the events published in them."""
    scope = _announcing.get()
    if scope is not None and scope.conn is tx:
        scope.pending = []
        scope.after = []
        scope.published = False


# -- waking the relays after commit -----------------------------------------------------------

class _Announcing:
    __slots__ = ("after", "conn", "pending", "published")

    def __init__(self, conn: Tx) -> None:
        self.conn = conn
        self.published = False
        self.pending: list[dict[str, object]] = []  # publish()es waiting for the commit
        self.after: list[Callable[[Database], None]] = []  # to call once it has committed


_announcing: ContextVar[_Announcing | None] = ContextVar("rampart_announcing", default=None)
# database URL -> what wakes each relay of this process that delivers from that database
_local_relays: dict[str, set[Callable[[], bool]]] = {}
_notifiers: weakref.WeakKeyDictionary[Database, _Notifier] = weakref.WeakKeyDictionary()


def _wake_after_commit(tx: Tx) -> bool:
    """Inside `announcing(db, tx)`: note that the relays must be woken once tx commits."""
    scope = _announcing.get()
    if scope is None or scope.conn is not tx:  # another connection's transaction, or none
        return False
    scope.published = True
    return True


@asynccontextmanager
async def announcing(db: Database, conn: Tx) -> AsyncIterator[None]:
    """Around a transaction on `conn` (entered before it, so left after its commit): events
    published in it wait for `write_pending()` in the commit's pipeline, and once it has
    committed the relays are woken. A transaction that raises writes and wakes nothing."""
    scope = _Announcing(conn)
    reset = _announcing.set(scope)
    try:
        yield
    finally:
        _announcing.reset(reset)
    if scope.pending:  # a kernel bug: the transaction ended without writing its events
        log.error("outbox_events_not_written", events=len(scope.pending))
    if scope.published:
        wake_relays(db)
    for call in scope.after:
        call(db)


def after_commit(tx: Tx, call: Callable[[Database], None]) -> bool:
    """In a transaction the kernel owns, have `call(db)` run once it has committed (not if it
    rolls back) and answer True; anywhere else answer False (the caller acts inside `tx`)."""
    scope = _announcing.get()
    if scope is None or scope.conn is not tx or getattr(tx, "_num_transactions", 0):
        return False
    scope.after.append(call)
    return True


def wake_relays(db: Database) -> None:
    """Wake this process's relays on `db` now; and the other processes' by a NOTIFY, unless a
    relay of this process answers that it takes the work (an idle one at once; the one whose
    handler made this commit, right after its batch: shared/db/relay.py). A busy relay claims
    again as soon as its batch is done anyway; the NOTIFY is there so that idle relays
    elsewhere share the load, or deliver it when this process runs none."""
    taken = [wake() for wake in tuple(_local_relays.get(db.url, ()))]
    if any(taken):
        return
    notifier = _notifiers.get(db)
    if notifier is None:
        notifier = _notifiers[db] = _Notifier(db)
    notifier.poke()


def on_commit(url: str, wake: Callable[[], bool]) -> Callable[[], None]:
    """Call `wake` after every commit in this process that published to `url`'s database
    (`wake` answers whether its relay will claim the new work without being told); returns
    what undoes it."""
    _local_relays.setdefault(url, set()).add(wake)
    return lambda: _local_relays.get(url, set()).discard(wake)


class _Notifier:
    """NOTIFYs the relays of other processes, from a pooled connection in autocommit, outside
    any writer's transaction: at once when it has been quiet, then at most once per
    NOTIFY_GAP, and once more after a burst so its last commit is announced too."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def poke(self) -> None:
        if self._task is not None:
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox-notify")

    async def _run(self) -> None:
        try:
            while True:
                self._again = False
                try:
                    # Untraced: bookkeeping, not the request's work. A notification needs no
                    # flush to disk to be delivered, and losing one in a crash costs a poll at
                    # most, so its commit need not wait for the WAL.
                    async with self.db.connection() as conn, AsyncCursor(conn) as cur:
                        await cur.execute(_NOTIFY, (NOTIFY_CHANNEL,))
                except Exception as exc:  # the poll delivers anyway
                    log.debug("outbox_notify_failed", error=type(exc).__name__)
                await asyncio.sleep(NOTIFY_GAP)
                if not self._again:
                    return
        finally:
            self._task = None

    async def close(self) -> None:
        task = self._task
        if task is not None:  # let the last one out (a CLI command's), briefly
            with contextlib.suppress(Exception, TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), timeout=1)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def stop_notifying(db: Database) -> None:
    """Before `db` closes: send a NOTIFY still on its way, then stop."""
    notifier = _notifiers.pop(db, None)
    if notifier is not None:
        await notifier.close()


_NOTIFY = "SELECT set_config('synchronous_commit', 'off', true), pg_notify(%s, '')"
