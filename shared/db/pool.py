"""The connection pool and the transaction helper every slice uses.

Connections run in autocommit mode, so a single-statement read is one round trip;
`Database.transaction()` opens an explicit transaction for anything that writes.

While the database is known to be unreachable, nothing waits for it. A connection that breaks
(or a checkout that times out) starts a watchdog that tries to connect on its own; if that
fails too the database is *down*: the pool is closed (whoever waits for a connection fails at
once), every `connection()` and `transaction()` raises `DatabaseUnavailable` (a 503 with
Retry-After) without touching the network, and the watchdog tries again every
`PROBE_INTERVAL`. The first probe that connects opens a fresh pool: psycopg_pool's own
reconnection backs off exponentially, so the old pool could take many seconds to notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.array import ListBinaryDumper
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from shared.db import events
from shared.db.batching import BatchedRead
from shared.db.connection import Connection, Cursor, begin_pending, control

Tx = AsyncConnection[dict[str, Any]]
log = structlog.get_logger("rampart.db")

# How often a down database is tried again, and how long one try may take: together they bound
# the time from the database's return to the first answered request.
PROBE_INTERVAL = 0.25
PROBE_TIMEOUT = 1.0
# SQLSTATE classes of a lost or refused connection: the server may be gone, so look.
_LOST = ("08", "57P01", "57P02", "57P03")
_OPEN = (TransactionStatus.INTRANS, TransactionStatus.INERROR)


async def _configure(conn: Tx) -> None:
    """Each new pooled connection: Python lists go to the server in binary. psycopg's text
    form of a list turns each element into a string and searches it for characters to quote:
    measured here, 2.6 µs an element for a list of UUIDs against 0.64 in binary (0.69 against
    0.33 for ints), and the relay and every batch handler send lists of ids with each batch.
    Nothing else changes: each element is sent with its type's OID either way."""
    conn.adapters.register_dumper(list, ListBinaryDumper)


class DatabaseUnavailable(psycopg.OperationalError):
    """The database is known to be unreachable right now; nothing was sent to it."""


class Database:
    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 16) -> None:
        self.url = url
        self._sizes = (min_size, max_size)
        self.pool = self._new_pool()
        self._batched: dict[str, BatchedRead] = {}
        self._checking: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self.down = False
        # Requests that hold a connection while they wait for a second one (holding_two).
        self._holding_two = asyncio.Semaphore(max(1, max_size // 2))

    def _new_pool(self) -> AsyncConnectionPool[Tx]:
        return AsyncConnectionPool(
            self.url,
            min_size=self._sizes[0],
            max_size=self._sizes[1],
            open=False,
            connection_class=Connection,
            kwargs={"autocommit": True, "row_factory": dict_row, "cursor_factory": Cursor,
                    # psycopg prepares a statement server-side after this many executions.
                    "prepare_threshold": 2,
                    # timestamptz values come back in UTC whatever the server's zone.
                    "options": "-c TimeZone=UTC",
                    # A server that vanished without a reset (a failover, a cut network) is
                    # noticed within about a minute instead of the kernel's 15.
                    "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                    "keepalives_count": 3},
            configure=_configure,
            name="rampart",
            timeout=10,
        )

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=15)

    async def close(self) -> None:
        await events.stop_notifying(self)
        if self._checking is not None:
            self._checking.cancel()
            await asyncio.gather(self._checking, return_exceptions=True)
        await asyncio.gather(*self._closing, return_exceptions=True)
        await self.pool.close(timeout=10)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Tx]:
        """A pooled connection in autocommit mode: for reads."""
        if self.down:
            raise DatabaseUnavailable("the database is unreachable")
        conn = None
        try:
            async with self.pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as exc:
            self._after_failure(conn, exc)
            raise

    @asynccontextmanager
    async def holding_two(self) -> AsyncIterator[None]:
        """Room for a request that takes a second connection while it holds one (a payment: the
        idempotency record's transaction, and each phase's own). Take it before the first. Were
        every connection held by such a request, each would wait for a second that none frees:
        at most half the pool's size may be held so, the rest wait here holding nothing."""
        async with self._holding_two:
            yield

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One transaction: commits when the block ends, rolls back if it raises. Its BEGIN
        travels with its first statement and its events with its COMMIT (shared/db/cursors.py,
        shared/db/events.py); once it has committed, the relays are woken."""
        if self.down:
            raise DatabaseUnavailable("the database is unreachable")
        conn = None
        try:
            async with self.pool.connection() as conn, events.announcing(self, conn):
                conn.begin_pending = True  # type: ignore[attr-defined]
                try:
                    yield conn
                except BaseException:
                    conn.begin_pending = False  # type: ignore[attr-defined]
                    if not conn.broken and conn.info.transaction_status in _OPEN:
                        await control(conn, "ROLLBACK")
                    raise
                await commit(conn)
        except psycopg.OperationalError as exc:
            self._after_failure(conn, exc)
            raise

    def _after_failure(self, conn: Tx | None, exc: psycopg.OperationalError) -> None:
        """A connection that broke (the server restarted, failed over, or killed it), or no
        connection in time, means the server may be gone: find out, in the background, so the
        caller does not wait and checkouts stay free of a test query. If it answers, its idle
        siblings are tested (so about one request per process fails after a restart, rather
        than one per pooled connection); if not, the database is down (module docstring)."""
        lost = (conn is not None and conn.broken) or isinstance(exc, PoolTimeout) or (
            exc.sqlstate is not None and exc.sqlstate.startswith(_LOST))
        if lost and not self.down and (self._checking is None or self._checking.done()):
            self._checking = asyncio.create_task(self._watch(), name="database-watch")

    async def _watch(self) -> None:
        if await self._answers():
            with contextlib.suppress(Exception, TimeoutError):
                async with asyncio.timeout(10):
                    await self.pool.check()
            return
        self.down = True
        log.warning("database_down", retry_every_s=PROBE_INTERVAL)
        self._retire(self.pool)
        while True:
            await asyncio.sleep(PROBE_INTERVAL)
            if not await self._answers():
                continue
            pool = self._new_pool()
            try:
                await pool.open(wait=True, timeout=5)
            except Exception:  # gone again between the probe and the pool: keep trying
                self._retire(pool)
                continue
            except asyncio.CancelledError:  # the app is closing meanwhile
                self._retire(pool)
                raise
            self.pool, self.down = pool, False
            log.warning("database_back")
            return

    async def _answers(self) -> bool:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                conn = await AsyncConnection.connect(self.url, autocommit=True)
                async with conn:
                    await conn.execute("SELECT 1")
        except (psycopg.Error, OSError, TimeoutError):
            return False
        return True

    def _retire(self, pool: AsyncConnectionPool[Tx]) -> None:
        """Close a pool in the background: its waiting clients fail at once (PoolClosed, a 503),
        connections in use close when they are returned."""
        task = asyncio.create_task(pool.close(timeout=1), name="pool-retire")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

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


async def commit(conn: Tx) -> None:
    """COMMIT the transaction `Database.transaction()` or the idempotency kernel opened on
    `conn`, with the events published in it, in one round trip. A transaction that ran no
    statement and published nothing sends nothing at all."""
    pending = begin_pending(conn)
    conn.begin_pending = False  # type: ignore[attr-defined]
    if pending and not events.has_pending(conn):
        return
    async with conn.pipeline():
        if pending:
            await control(conn, "BEGIN")
        await events.write_pending(conn)
        await control(conn, "COMMIT")
