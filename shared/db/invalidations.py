"""Cache invalidation between processes: NOTIFY once the write commits, LISTEN in each.

`notify(tx, cache, key)` announces on the `rampart_cache` channel that `key` changed, once the
transaction commits (never if it rolls back). In a transaction the kernel owns
(`Database.transaction()`, the Idempotency-Key transaction) the NOTIFY is sent right after the
commit from a connection of its own, many keys in one statement: a NOTIFY inside the writing
transaction would put every writer's commit in single file (shared/db/events.py; measured on
the update's raw SQL: 834-903 tps with it, 1,938-2,338 without, pgbench -c32). A process that
dies between its commit and that NOTIFY leaves the other processes' copies to their TTL. In a
transaction the kernel does not own, the NOTIFY is sent inside it, which PostgreSQL delivers
at the commit. Every server process runs one
`InvalidationListener`, on a connection of its own (a pooled one would be reset and shared),
that hands each notification to its `Caches` (shared/cache.py).

A dropped connection may have lost notifications, so the caches are flushed and bypassed as
soon as it drops, and flushed again once LISTEN is back: nothing older than the reconnection
is served. This channel is the caches' alone; the outbox relay has its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import weakref
from typing import TYPE_CHECKING

import psycopg
import structlog

from shared.db import events
from shared.db.connection import Bookkeeping

if TYPE_CHECKING:
    from shared.cache import Caches
    from shared.db.pool import Database, Tx

CHANNEL = "rampart_cache"
APPLICATION_NAME = "rampart-cache-listen"
log = structlog.get_logger("rampart.cache")


_NOTIFY = "SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) AS payload"
# After the commit, alone: a lost notification costs a TTL at most, so no wait for the WAL.
_NOTIFY_ALONE = f"{_NOTIFY} WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL"
_senders: weakref.WeakKeyDictionary[Database, _Sender] = weakref.WeakKeyDictionary()


async def notify(tx: Tx, cache: str, key: str) -> None:
    payload = f"{cache}:{key}"
    if not events.after_commit(tx, lambda db: _sender(db).send(payload)):
        await tx.execute(_NOTIFY, (CHANNEL, [payload]))


def _sender(db: Database) -> _Sender:
    sender = _senders.get(db)
    if sender is None:
        sender = _senders[db] = _Sender(db)
    return sender


class _Sender:
    """Sends the payloads handed to it, those that arrive meanwhile together in one NOTIFY
    statement, from a pooled connection outside any writer's transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.payloads: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def send(self, payload: str) -> None:
        self.payloads.append(payload)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                name="cache-notify")

    async def _run(self) -> None:
        try:
            while self.payloads:
                payloads, self.payloads = list(dict.fromkeys(self.payloads)), []
                try:
                    async with self.db.connection() as conn, Bookkeeping(conn) as cur:
                        await cur.execute(_NOTIFY_ALONE, (CHANNEL, payloads))
                except Exception as exc:  # the other processes' copies wait for their TTL
                    log.warning("cache_notify_failed", keys=len(payloads),
                                error=type(exc).__name__)
        finally:
            self._task = None


class InvalidationListener:
    keepalive = 5.0  # seconds of quiet before the connection is checked (and ages refreshed)

    def __init__(self, url: str, caches: Caches) -> None:
        self.url = url
        self.caches = caches
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, wait: float = 5.0) -> None:
        """Start listening; wait (a little) for the first LISTEN so caching starts at once."""
        self._task = asyncio.create_task(self._run(), name="cache-invalidations")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self.connected.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        delay = 0.0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, application_name=APPLICATION_NAME,
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    # From here on every commit's notification reaches us: what was cached
                    # before may have missed some.
                    self.caches.flush(listening=True)
                    self.connected.set()
                    if delay:
                        log.info("cache_listen_restored")
                    delay = 0.0
                    while True:
                        async for note in conn.notifies(timeout=self.keepalive):
                            self.caches.received(note.payload)
                        self.caches.observe()
                        async with asyncio.timeout(5):
                            await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                self.caches.flush(listening=False)
                raise
            except Exception as exc:
                if self.connected.is_set() or not delay:
                    log.warning("cache_listen_lost", error=str(exc)[:200])
                self.connected.clear()
                self.caches.flush(listening=False)
            delay = min(max(delay * 2, 0.1), 5.0)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
