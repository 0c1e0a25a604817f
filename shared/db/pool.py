"""The connection pool and the transaction helper every slice uses.

Connections run in autocommit mode, so a single-statement read is one round trip;
`Database.transaction()` opens an explicit transaction for anything that writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from shared.db import events
from shared.db.batching import BatchedRead
from shared.logging.tracing import TracedCursor

Tx = AsyncConnection[dict[str, Any]]


class Database:
    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 16) -> None:
        self.url = url
        self.pool: AsyncConnectionPool[Tx] = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True, "row_factory": dict_row, "cursor_factory": TracedCursor,
                    # psycopg prepares a statement server-side after this many executions.
                    "prepare_threshold": 2,
                    # timestamptz values come back in UTC whatever the server's zone.
                    "options": "-c TimeZone=UTC",
                    # A server that vanished without a reset (a failover, a cut network) is
                    # noticed within about a minute instead of the kernel's 15.
                    "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                    "keepalives_count": 3},
            name="rampart",
            timeout=10,
        )
        self._batched: dict[str, BatchedRead] = {}
        self._checking: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=15)

    async def close(self) -> None:
        await events.stop_notifying(self)
        if self._checking is not None:
            self._checking.cancel()
            await asyncio.gather(self._checking, return_exceptions=True)
        await self.pool.close(timeout=10)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Tx]:
        """A pooled connection in autocommit mode: for reads."""
        async with self.pool.connection() as conn:
            try:
                yield conn
            except psycopg.OperationalError:
                self._after_failure(conn)
                raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One transaction: commits when the block ends, rolls back if it raises. Events it
        published wake the relays once it has committed (shared/db/events.py)."""
        async with self.pool.connection() as conn:
            try:
                async with events.announcing(self, conn), conn.transaction():
                    yield conn
            except psycopg.OperationalError:
                self._after_failure(conn)
                raise

    def _after_failure(self, conn: Tx) -> None:
        """A connection that broke (the server restarted, failed over, or killed it) means its
        idle siblings are most likely dead too: test them all, in the background, so about one
        request per process fails rather than one per pooled connection. The caller does not
        wait for the test, and checkouts stay free of a test query."""
        if conn.broken and (self._checking is None or self._checking.done()):
            self._checking = asyncio.create_task(self._check_idle(), name="pool-check")

    async def _check_idle(self) -> None:
        with contextlib.suppress(Exception, TimeoutError):
            async with asyncio.timeout(10):
                await self.pool.check()

    async def fetch_by_key(self, query: str, key: Hashable, *,
                           column: str = "id") -> dict[str, Any] | None:
        """The row whose `column` equals `key`, or None.

        `query` selects `... WHERE <column> = ANY(%s)`: concurrent calls with the same query
        share one statement and one round trip (shared/db/batching.py).
        """
        read = self._batched.get(query)
        if read is None:
            table = re.search(r"\bFROM\s+([\w.]+)", query, re.I)
            read = self._batched[query] = BatchedRead(
                self.connection, query, column, name=table[1] if table else "query")
        return await read.get(key)

    def stats(self) -> dict[str, int]:
        return self.pool.get_stats()
