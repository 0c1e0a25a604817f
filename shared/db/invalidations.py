"""Cache invalidation between processes: NOTIFY from the writing transaction, LISTEN in each.

`notify(tx, cache, key)` queues a notification on the `rampart_cache` channel; PostgreSQL
delivers it when (and only if) the transaction commits. Every server process runs one
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
from typing import TYPE_CHECKING

import psycopg
import structlog

if TYPE_CHECKING:
    from shared.cache import Caches
    from shared.db.pool import Tx

CHANNEL = "rampart_cache"
APPLICATION_NAME = "rampart-cache-listen"
log = structlog.get_logger("rampart.cache")


async def notify(tx: Tx, cache: str, key: str) -> None:
    await tx.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{cache}:{key}"))


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
