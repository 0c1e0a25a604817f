"""The outbox relay: hands each stored event to its subscribers' handlers.

Every `rampart serve` process runs one (unless RELAY_ENABLED=false), `rampart worker` runs one
alone, and any number may share a database. A delivery is at least once, its effect exactly
once: the handler runs in a transaction that also marks the delivery done, so a crash rolls
back both. The SQL, with the ordering model, is in shared/db/outbox_sql.py.

Wake-ups: a commit in this process that published wakes the loop in-process; commits in other
processes reach it through LISTEN (shared/db/events.py). Both only wake the loop early; the poll
is what guarantees delivery, so a lost notification or a dropped listening connection costs at
most one poll interval.

Leases: a claim's lease is short (OUTBOX_LEASE_SECONDS) and renewed every third of it while its
deliveries run, so a relay that dies has its claims taken over within one lease, while a live
one keeps a batch or a long handler for as long as it needs. A single delivery also holds its
row lock while its handler runs, and grouped handlers run only while the lease is known to be
ours: no delivery ever runs under two live claims.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec
import psycopg
import structlog
from opentelemetry.context import Context
from opentelemetry.trace import (
    INVALID_SPAN,
    Link,
    Span,
    SpanKind,
    StatusCode,
    get_current_span,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from psycopg.rows import args_row

from shared.db import events
from shared.db import outbox_sql as sql
from shared.db.backoff import retry_delay
from shared.db.connection import Bookkeeping
from shared.db.events import NOTIFY_CHANNEL
from shared.db.outbox_metrics import (
    BACKLOG,
    DELIVERIES,
    GROUPS_ROLLED_BACK,
    HANDLER_SECONDS,
    OLDEST_DUE_AGE,
)
from shared.db.pool import Database, Tx
from shared.logging.tracing import UnrecordedSpan, spans_recorded, tracer
from shared.modules import Periodic, Subscription
from shared.settings import Settings

log = structlog.get_logger("rampart.outbox")
_PROPAGATOR = TraceContextTextMapPropagator()
PURGE_BATCH = 1000
# The relay whose deliveries the current task runs, if any (see Relay._woken).
_delivering: ContextVar[Relay | None] = ContextVar("rampart_relay_delivering", default=None)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: UUID
    event_id: UUID
    subscriber: str
    attempts: int
    type: str
    payload: str
    traceparent: str | None


class _LeaseLost(Exception):
    """Another relay took the delivery over after our lease expired: it is theirs now."""


def _now() -> float:
    return asyncio.get_running_loop().time()


class _Lease:
    """The lease of one claim, as this relay knows it. `until` errs early: the server grants
    the lease (and each renewal) after we ask for it, and a renewal only counts when its answer
    arrived while the lease was still ours, so until then no other relay can have taken over."""

    def __init__(self, token: UUID, seconds: float) -> None:
        self.token = token
        self.seconds = seconds
        self.until = _now() + seconds
        self._bounded: dict[asyncio.Timeout, float] = {}  # running work -> its own deadline

    def live(self) -> bool:
        return _now() < self.until

    def renewed(self, asked_at: float) -> None:
        self.until = asked_at + self.seconds
        for timeout, deadline in self._bounded.items():
            if not timeout.expired():
                timeout.reschedule(min(deadline, self.until))

    @contextlib.asynccontextmanager
    async def bounding(self, seconds: float) -> AsyncIterator[None]:
        """A timeout of `seconds` that also runs out with the lease (each renewal moves it)."""
        deadline = _now() + seconds
        async with asyncio.timeout_at(min(deadline, self.until)) as timeout:
            self._bounded[timeout] = deadline
            try:
                yield
            finally:
                del self._bounded[timeout]


class Relay:
    housekeeping_interval = 5.0  # seconds between gauge refreshes and reaping
    purge_interval = 60.0  # seconds between purges of old done deliveries

    def __init__(self, db: Database, subscriptions: Sequence[Subscription],
                 settings: Settings, periodic: Sequence[Periodic] = ()) -> None:
        self.db = db
        self.periodic = tuple(periodic)
        self.settings = settings
        self.subscriptions: dict[str, Subscription] = {}
        for sub in subscriptions:
            if sub.name in self.subscriptions:
                raise ValueError(f"two subscriptions are named {sub.name!r}")
            self.subscriptions[sub.name] = sub
        self._poll = settings.outbox_poll_ms / 1000
        self._wake = asyncio.Event()
        self._idle = False  # waiting for work: a wake-up is all it needs
        self._next_due: float | None = None  # seconds until a retry falls due, as last claimed
        self._more = False  # the last claim left something due behind (outbox_sql.NEXT_DUE)
        self._stopping = False
        self._loop: asyncio.Task[None] | None = None
        self._helpers: list[asyncio.Task[None]] = []
        self._orphaned_logged = 0
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        self._helpers.append(asyncio.create_task(self._housekeeping(), name="outbox-housekeeping"))
        self._helpers += [asyncio.create_task(self._every(job), name=job.name)
                          for job in self.periodic]
        if self.subscriptions:
            self._unsubscribe = events.on_commit(self.db.url, self._woken)
            self._helpers.append(asyncio.create_task(self._listen(), name="outbox-listen"))
            self._loop = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Let the deliveries in flight finish (up to one handler timeout), hand back the rest,
        stop."""
        self._stopping = True
        self._wake.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._loop is not None:
            _, late = await asyncio.wait({self._loop},
                                         timeout=self.settings.outbox_handler_timeout_seconds)
            if late:
                log.warning("outbox_relay_stop_timeout")
                self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
        for task in self._helpers:
            task.cancel()
        await asyncio.gather(*self._helpers, return_exceptions=True)

    # The delivery loop ------------------------------------------------------------------

    def _woken(self) -> bool:
        """A commit in this process published: claim now. Answers whether this relay takes
        the work, in which case no other process need be told (shared/db/events.py): when it
        is idle, and when the commit is one of its own handlers' (a saga step publishing the
        next one), which it claims right after its batch. Waking the other relays for that
        would only send them all to claim, for one to find the event and the rest nothing
        (measured at one connection, two workers: 2.3 NOTIFYs and 3.7 claims per order before,
        0.7 and 3.0 after). The price: a saga's next step waits for the rest of its batch."""
        self._wake.set()
        return not self._stopping and (self._idle or _delivering.get() is self)

    async def _run(self) -> None:
        while not self._stopping:
            # Cleared before the claim: a NOTIFY arriving during it wakes the next wait at once.
            self._wake.clear()
            try:
                lease = _Lease(uuid4(), self.settings.outbox_lease_seconds)
                claimed_at = time.monotonic()
                batch = await self._claim(lease.token)
                # Claim again at once unless the batch took everything that was due and nobody
                # has published since (a commit sets `_wake`): that claim would find nothing.
                if batch and (not await self._deliver_batch(batch, lease) or self._more
                              or self._wake.is_set()):
                    continue
                next_due = self._next_due
                if next_due is not None:
                    next_due -= time.monotonic() - claimed_at
                timeout = self._poll if next_due is None else min(self._poll,
                                                                   max(next_due, 0.001))
            except Exception:  # the database is restarting or unreachable: try again later
                log.exception("outbox_relay_error")
                timeout = self._poll
            self._idle = True
            try:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
            finally:
                self._idle = False

    async def _claim(self, token: UUID) -> list[Claimed]:
        """Claim a batch; and, in the same round trip, learn how long until the next retry
        falls due (`_next_due`; a NOTIFY only announces new events) and whether anything due
        was left unclaimed (`_more`), for the sleep once the batch is done or should it be
        empty."""
        subscribers = list(self.subscriptions)
        async with self.db.connection() as conn:
            async with conn.pipeline():
                # A transaction of its own, for the planner setting (sql.CLAIM_PLAN says why).
                await _send(conn, "BEGIN")
                await _send(conn, sql.CLAIM_PLAN)
                claim = await _send(conn, sql.CLAIM, {
                    "token": token, "lease_seconds": self.settings.outbox_lease_seconds,
                    "max_attempts": self.settings.outbox_max_attempts,
                    "subscribers": subscribers, "batch": self.settings.outbox_batch_size,
                }, row_factory=args_row(Claimed))  # its columns in Claimed's order
                due = await _send(conn, sql.NEXT_DUE, {"subscribers": subscribers,
                                                      "token": token})
                await _send(conn, "COMMIT")
            rows = await claim.fetchall()
            after = await due.fetchone() or {}
            self._next_due, self._more = after.get("seconds"), bool(after.get("more"))
            await claim.close()
            await due.close()
        return rows

    async def _deliver_batch(self, batch: list[Claimed], lease: _Lease) -> bool:
        """Deliver a claimed batch; answers whether every delivery in it took effect (none
        failed, lost its lease or was handed back)."""
        # A batch holds at most one delivery per lane (see the claim), so its deliveries may
        # run side by side without breaking any lane's order; up to `outbox_concurrency` run
        # at once. Deliveries to subscribers that share transactions run in groups, each group
        # in one transaction: one commit for many deliveries. A group in which anything fails
        # is rolled back whole and its deliveries run again one transaction each, so the
        # failure is charged to its own delivery and every other one takes effect once.
        # A subscriber that handles many at once (`Subscription.handle_many`) gets its
        # deliveries of the batch as one part, handled in one call. Each part is a transaction
        # of its own, except that the parts of subscribers that also share transactions run
        # in one, in the order of their names; should it fail, each part runs alone.
        lanes = self.settings.outbox_concurrency
        at_once: dict[str, list[Claimed]] = {}
        sharing: list[Claimed] = []
        units: list[list[Claimed]] = []
        for d in batch:
            sub = self.subscriptions[d.subscriber]
            if sub.handle_many is not None:
                at_once.setdefault(d.subscriber, []).append(d)
            elif sub.shares(self.settings):
                sharing.append(d)
            else:
                units.append([d])
        width = min(lanes, len(sharing))
        units += [sharing[i::width] for i in range(width)]
        together = [at_once.pop(name) for name in sorted(at_once)
                    if self.subscriptions[name].shares(self.settings)]
        units += at_once.values()
        limit = asyncio.Semaphore(lanes)
        unstarted: list[UUID] = []  # handed back with the attempt not counted
        ran: list[UUID] = []  # handed back, attempt counted: their handlers ran
        unsettled: list[UUID] = []  # failed (a retry falls due later) or lost the lease
        token = lease.token

        async def run(unit: list[Claimed], parts: Sequence[list[Claimed]] = (),
                      grouped: bool = False) -> None:
            """`unit` in one transaction, else (rolled back) each of its `parts` the same way,
            else one delivery at a time."""
            if len(unit) > 1 and not self._stopping and lease.live():
                async with limit:
                    left = await self._deliver_together(unit, lease)
                if left is not None:  # the group took effect, up to a stop
                    unstarted.extend(d.id for d in left)
                    return
                grouped = True
            if len(parts) > 1:
                await asyncio.gather(*(run(part, grouped=grouped) for part in parts))
                return
            async with limit:
                for delivery in unit:
                    # Past the claim's lease another relay may already hold the delivery.
                    if self._stopping or not lease.live():
                        (ran if grouped else unstarted).append(delivery.id)
                        continue
                    try:
                        if await self._deliver(delivery, token) != "done":
                            unsettled.append(delivery.id)
                    except Exception:  # could not even record the failure: the lease expires
                        log.exception("outbox_delivery_error", delivery_id=str(delivery.id))
                        unsettled.append(delivery.id)

        beat = asyncio.create_task(self._heartbeat(lease, [d.id for d in batch]),
                                   name="outbox-heartbeat")
        try:
            reset = _delivering.set(self)  # the units' tasks inherit it (see _woken)
            try:
                jobs = [run(unit) for unit in units]
                if together:
                    jobs.append(run([d for part in together for d in part], together))
                await asyncio.gather(*jobs)
            finally:
                _delivering.reset(reset)
        finally:
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
        for ids, counted in ((unstarted, False), (ran, True)):
            if ids:
                async with self.db.connection() as conn:
                    await _untraced(conn, sql.RELEASE, {"ids": ids, "token": token,
                                                        "uncount": 0 if counted else 1})
        return not (unstarted or ran or unsettled)

    async def _heartbeat(self, lease: _Lease, ids: list[UUID]) -> None:
        """Renew the lease of the batch's unfinished deliveries every third of a lease."""
        while True:
            await asyncio.sleep(lease.seconds / 3)
            asked = _now()
            try:
                async with self.db.connection() as conn:
                    await _untraced(conn, sql.RENEW, {"ids": ids, "token": lease.token,
                                                      "lease_seconds": lease.seconds})
            except Exception as exc:  # the lease runs out: no new delivery of it starts
                log.warning("outbox_lease_renewal_failed", error=repr(exc)[:200])
                continue
            if lease.live():  # answered in time: what was still ours is ours for longer
                lease.renewed(asked)

    async def _deliver_together(self, group: list[Claimed],
                                lease: _Lease) -> list[Claimed] | None:
        """The deliveries of `group` in one transaction, until done or the relay stops: returns
        those not started, or None when anything failed and all of it was rolled back.

        The deliveries are marked done last, guarded by the lease token: a relay that took one
        over after our lease expired makes the mark miss, and the whole group rolls back. Their
        rows are not locked until then, so the handlers run only while the lease is ours.
        """
        timings: list[tuple[str, int, float]] = []  # per call: subscriber, deliveries, s each
        token = lease.token
        try:
            # The timeout is not around COMMIT: that may succeed late.
            async with self.db.transaction() as tx, \
                    lease.bounding(self.settings.outbox_handler_timeout_seconds):
                for part in self._parts(group):
                    if self._stopping:
                        break
                    sub = self.subscriptions[part[0].subscriber]
                    started = time.perf_counter()
                    if sub.handle_many is not None:
                        with self._handling_many(part):
                            await sub.handle_many([msgspec.json.decode(
                                d.payload, type=sub.payload_type) for d in part], tx)
                    else:
                        with self._handling(part[0]):
                            await self._handle(part[0], tx)
                    timings.append((part[0].subscriber, len(part),
                                    (time.perf_counter() - started) / len(part)))
                done = sum(count for _, count, _ in timings)
                await _acknowledge(tx, [d.id for d in group[:done]], token)
        except Exception as exc:  # each delivery's own run records what fails there
            GROUPS_ROLLED_BACK.inc()
            log.info("outbox_group_rolled_back", deliveries=len(group), error=repr(exc)[:200])
            return None
        for subscriber, count, took in timings:  # each metric's child looked up once a call
            histogram = HANDLER_SECONDS.labels(subscriber)
            for _ in range(count):
                histogram.observe(took)
            DELIVERIES.labels(subscriber, "done").inc(count)
        return group[done:]

    def _parts(self, group: list[Claimed]) -> Iterator[list[Claimed]]:
        """A group's calls in order: each subscriber that handles many gets its consecutive
        deliveries in one call, any other subscriber one delivery per call."""
        for name, run in itertools.groupby(group, key=lambda d: d.subscriber):
            if self.subscriptions[name].handle_many is not None:
                yield list(run)
            else:
                yield from ([d] for d in run)

    async def _deliver(self, delivery: Claimed, token: UUID) -> str:
        """One delivery in a transaction of its own; answers its outcome (done, lost, retry,
        dead)."""
        started = time.perf_counter()
        with self._handling(delivery) as span:
            try:
                async with self.db.transaction() as tx:
                    # A hung handler must not hold its connection, its row lock and its lane
                    # forever: after its timeout it is rolled back and retried instead. (Not
                    # around COMMIT: that may succeed late.)
                    async with asyncio.timeout(self.settings.outbox_handler_timeout_seconds):
                        await _acknowledge(tx, [delivery.id], token)
                        await self._handle(delivery, tx)
                outcome = "done"
            except _LeaseLost:
                outcome = "lost"
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(StatusCode.ERROR)
                outcome = await self._fail(delivery, token, exc)
        HANDLER_SECONDS.labels(delivery.subscriber).observe(time.perf_counter() - started)
        DELIVERIES.labels(delivery.subscriber, outcome).inc()
        return outcome

    async def _handle(self, delivery: Claimed, tx: Tx) -> None:
        sub = self.subscriptions[delivery.subscriber]
        payload = msgspec.json.decode(delivery.payload, type=sub.payload_type)
        await sub.run(payload, tx, self.settings)

    @contextlib.contextmanager
    def _handling(self, delivery: Claimed) -> Iterator[Span]:
        """The handler's span, continuing the trace of the request that published the event,
        and the event's ids on every log line the handler writes."""
        parent = _PROPAGATOR.extract({"traceparent": delivery.traceparent}
                                     if delivery.traceparent else {})
        with _consumer_span(f"{delivery.type} process", parent, lambda: {
            "messaging.system": "rampart.outbox", "messaging.operation.type": "process",
            "messaging.destination.name": delivery.type,
            "messaging.message.id": str(delivery.event_id),
            "messaging.consumer.group.name": delivery.subscriber,
            "rampart.outbox.attempt": delivery.attempts,
        }) as span, structlog.contextvars.bound_contextvars(
            event_id=str(delivery.event_id), subscriber=delivery.subscriber,
        ):
            yield span

    @contextlib.contextmanager
    def _handling_many(self, group: list[Claimed]) -> Iterator[Span]:
        """One span for deliveries handled at once, linked to each one's producer (a span has
        one parent, but may link to many), and the subscriber on every log line."""
        first = group[0]
        with _consumer_span(f"{first.type} process", None, lambda: {
            "messaging.system": "rampart.outbox", "messaging.operation.type": "process",
            "messaging.destination.name": first.type,
            "messaging.batch.message_count": len(group),
            "messaging.consumer.group.name": first.subscriber,
        }, links=lambda: [
            Link(get_current_span(_PROPAGATOR.extract({"traceparent": d.traceparent}))
                 .get_span_context()) for d in group if d.traceparent]) as span, \
                structlog.contextvars.bound_contextvars(subscriber=first.subscriber,
                                                        deliveries=len(group)):
            yield span

    async def _fail(self, delivery: Claimed, token: UUID, exc: Exception) -> str:
        dead = delivery.attempts >= self.settings.outbox_max_attempts
        delay = 0.0 if dead else retry_delay(
            delivery.attempts, base=self.settings.outbox_backoff_base_ms / 1000,
            cap=self.settings.outbox_backoff_max_ms / 1000)
        (log.error if dead else log.warning)(
            "outbox_delivery_failed", attempts=delivery.attempts, dead=dead,
            retry_in=round(delay, 3), exc_info=exc)
        async with self.db.connection() as conn:
            await conn.execute(sql.FAIL, {
                "id": delivery.id, "token": token, "state": "dead" if dead else "pending",
                "delay": delay,
                "error": _describe(exc, self.settings.outbox_handler_timeout_seconds),
            })
        return "dead" if dead else "retry"

    # The wake-up call ---------------------------------------------------------------------

    async def _listen(self) -> None:
        """Hold a LISTEN connection of its own (a pooled one would be reset and shared)."""
        delay = 0.0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.db.url, autocommit=True, application_name="rampart-outbox-listen",
                ) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    delay = 0.0
                    self._wake.set()  # catch up on whatever was published while we were away
                    while True:
                        async for _ in conn.notifies(timeout=30):
                            self._wake.set()
                        # A quiet half minute: make sure the connection is really alive.
                        async with asyncio.timeout(5):
                            await conn.execute("SELECT 1")
            except Exception as exc:
                log.warning("outbox_listen_lost", error=str(exc))
            delay = min(max(delay * 2, 0.1), 5.0)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    # Housekeeping -------------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        last_purge = time.monotonic()  # a fleet restarting at once need not purge at once
        while True:
            try:
                purge = time.monotonic() - last_purge >= self.purge_interval
                await self.housekeep(purge=purge)
                if purge:
                    last_purge = time.monotonic()
            except Exception:
                log.exception("outbox_housekeeping_error")
            await asyncio.sleep(self.housekeeping_interval)

    async def _every(self, job: Periodic) -> None:
        """A module's periodic job (shared/modules.py), for as long as the relay runs."""
        while True:
            await asyncio.sleep(job.interval(self.settings))
            try:
                await job.run(self.db, self.settings)
            except Exception:
                log.exception("periodic_job_error", job=job.name)

    async def housekeep(self, *, purge: bool = True) -> int:
        """Bury deliveries whose last attempt died with its relay, refresh the gauges, and
        (with `purge`) delete done deliveries older than the retention, in batches.

        Returns how many rows were purged.
        """
        async with self.db.connection() as conn:
            await _untraced(conn, sql.REAP, (self.settings.outbox_max_attempts,))
            known = list(self.subscriptions)
            stats = (await _untraced(conn, sql.STATS, {"subscribers": known}))[0]
            BACKLOG.labels("pending").set(stats["pending"])
            BACKLOG.labels("orphaned").set(stats["orphaned"])
            BACKLOG.labels("dead").set(stats["dead"])
            OLDEST_DUE_AGE.set(stats["oldest_due_age"])
            if stats["orphaned"] != self._orphaned_logged:  # said once, and again when it changes
                self._orphaned_logged = stats["orphaned"]
                if stats["orphaned"]:
                    orphaned = await _untraced(conn, sql.ORPHANED, (known,))
                    log.warning("outbox_orphaned_deliveries", subscribers={
                        row["subscriber"]: row["deliveries"] for row in orphaned})
            if not purge:
                return 0
            cutoff = datetime.now(UTC) - timedelta(hours=self.settings.outbox_retention_hours)
            params = {"cutoff": cutoff, "cutoff_id": _uuid7_floor(cutoff), "batch": PURGE_BATCH}
            purged = 0
            for statement in (sql.PURGE_DELIVERIES, sql.PURGE_EVENTS):  # events after theirs
                while True:
                    async with Bookkeeping(conn) as cur:
                        await cur.execute(statement, params)
                        deleted = cur.rowcount
                    purged += deleted
                    if deleted < PURGE_BATCH:
                        break
        return purged


@contextlib.contextmanager
def _consumer_span(name: str, parent: Context | None, attributes: Callable[[], dict[str, Any]],
                   links: Callable[[], list[Link]] = list) -> Iterator[Span]:
    """A handler's consumer span. Unless spans are recorded (an exporter or a sampler is set:
    shared/logging/tracing.py), only its ids, as for a request (`UnrecordedSpan`): the
    handler's log lines and the events it publishes carry the trace all the same, and none of
    the SDK's span, attributes or links is built for nothing. Profiled draining orders (six
    deliveries each, notifications' send_email one at a time), the SDK's unrecorded span and
    its attributes were most of what a delivery that does nothing cost the relay."""
    if not spans_recorded():
        with UnrecordedSpan(parent):
            yield INVALID_SPAN
        return
    with tracer.start_as_current_span(name, context=parent, kind=SpanKind.CONSUMER,
                                      attributes=attributes(), links=links()) as span:
        yield span


async def _acknowledge(tx: Tx, delivery_ids: list[UUID], token: UUID) -> None:
    async with Bookkeeping(tx) as cur:  # bookkeeping: the handler's own statements are traced
        await cur.execute(sql.ACK, (delivery_ids, token))
        if cur.rowcount != len(delivery_ids):
            raise _LeaseLost


async def _send(conn: Tx, query: str, params: Any = None, **cursor: Any) -> Bookkeeping:
    """Bookkeeping sent untraced (see `_untraced`), results left on the cursor: in a pipeline,
    read them after it has synced."""
    cur = Bookkeeping(conn, **cursor)
    await cur.execute(query, params)
    return cur


async def _untraced(conn: Tx, query: str, params: Any = None) -> list[dict[str, Any]]:
    """The relay's bookkeeping skips the traced cursor: an idle relay polling every second
    would otherwise start a new trace each time."""
    async with Bookkeeping(conn) as cur:
        await cur.execute(query, params)
        return await cur.fetchall() if cur.description else []


def _describe(exc: Exception, timeout_seconds: int) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return (f"TimeoutError: the handler ran longer than its timeout ({timeout_seconds} s, "
                "OUTBOX_HANDLER_TIMEOUT_SECONDS)")
    return f"{type(exc).__name__}: {exc}"[:2000]


def _uuid7_floor(moment: datetime) -> UUID:
    """The smallest UUIDv7 of that millisecond: every id generated before it sorts lower."""
    return UUID(int=int(moment.timestamp() * 1000) << 80)
