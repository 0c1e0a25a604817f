"""The pool's connections and cursors, and the BEGIN that travels with a transaction's first
statement.

psycopg sends a transaction's BEGIN as a round trip of its own. `Database.transaction()`
(shared/db/pool.py) instead marks its connection `begin_pending`, and the first statement run
through one of these cursors sends BEGIN and itself in one pipeline: one round trip, with the
statement's errors raised by its own `execute`, exactly as without the pipeline. The commit
likewise takes the transaction's events along (shared/db/events.py), so a command that writes
one row and publishes one event costs two round trips, not four.

Every statement inside `Database.transaction()` must go through these cursors (`tx.execute`,
`tx.cursor()`, or `Bookkeeping(tx)`), never a bare `psycopg.AsyncCursor(tx)`: that one would run
before the BEGIN, in autocommit. A savepoint (`tx.transaction()`) sends the BEGIN first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection, AsyncCursor, AsyncTransaction

from shared.logging.tracing import TracedCursor


def begin_pending(conn: Any) -> bool:
    return getattr(conn, "begin_pending", False)


class Connection(AsyncConnection[Any]):
    """The pool's connection (autocommit: `Database.transaction()` sends BEGIN itself)."""

    begin_pending = False  # a transaction is open, but its BEGIN not sent yet

    @asynccontextmanager
    async def transaction(self, savepoint_name: str | None = None,
                          force_rollback: bool = False) -> AsyncIterator[AsyncTransaction]:
        """psycopg's transaction block; inside `Database.transaction()`, a savepoint."""
        if self.begin_pending:
            self.begin_pending = False
            await control(self, "BEGIN")
        async with super().transaction(savepoint_name, force_rollback) as tx:
            yield tx


class _BeginsLazily(AsyncCursor[Any]):
    async def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        conn = self.connection
        if not begin_pending(conn):
            return await super().execute(query, params, **kwargs)
        conn.begin_pending = False  # type: ignore[attr-defined]
        async with conn.pipeline():
            await control(conn, "BEGIN")
            await super().execute(query, params, **kwargs)
        return self


class Cursor(_BeginsLazily, TracedCursor):
    """What slices and handlers get from `tx.execute()` and `tx.cursor()`: traced."""


class Bookkeeping(_BeginsLazily):
    """The kernel's own statements (outbox, idempotency records): untraced, so that an idle
    relay polling every second does not start a trace each time."""


async def control(conn: Any, command: str) -> None:
    """Transaction control (BEGIN, COMMIT, SAVEPOINT ...): untraced, as psycopg's own are,
    never prepared."""
    async with AsyncCursor(conn) as cur:
        await cur.execute(command, prepare=False)
