"""The connection pool and the transaction helper every slice uses.

Connections run in autocommit mode, so a single-statement read is one round trip;
`Database.transaction()` opens an explicit transaction for anything that writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

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
                    "options": "-c TimeZone=UTC"},
            name="rampart",
            timeout=10,
        )

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=15)

    async def close(self) -> None:
        await self.pool.close(timeout=10)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Tx]:
        """A pooled connection in autocommit mode: for reads."""
        async with self.pool.connection() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One transaction: commits when the block ends, rolls back if it raises."""
        async with self.pool.connection() as conn, conn.transaction():
            yield conn

    def stats(self) -> dict[str, int]:
        return self.pool.get_stats()
