"""Point reads that arrive together share one round trip.

A GET of one row by key spends more in the round trip than anywhere else: psycopg's client
work for a statement plus PostgreSQL's own per-statement work (README, "Numbers"). Under load a
worker holds many such reads at once, so `BatchedRead` sends the keys waiting at that moment as
one `... WHERE key = ANY(%s)` statement and hands each caller its own row, as a DataLoader does.

- No wait is added. The first key is sent on the event loop's next turn. Keys that arrive while
  `max_in_flight` statements are out join the next one, so batches grow only while the database
  is the bottleneck, and an idle service sends a batch of one.
- Every read starts after its caller asked, so it sees every write committed before that:
  read-your-writes holds. A key asked for twice in one batch is read once.
- A statement that fails fails every caller in its batch with the same exception; a caller that
  goes away (a cancelled request) leaves the others their rows.
- Rows are matched to callers by Python equality, so keys must have the column's Python type
  (`UUID` for a uuid column; any other type is refused at once) and the column must compare as
  Python does: ids, not case-insensitive text.
- The statement runs in the context of the batch's longest-waiting caller, so its span is a
  child of that request's span; the other callers' traces do not show it.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import UUID

from prometheus_client import Histogram

BATCH_SIZE = Histogram("db_batched_reads", "Reads answered by one batched statement", ["query"],
                       buckets=(1, 2, 4, 8, 16, 32, 64, 128))

Row = dict[str, Any]
Waiters = dict[Hashable, list["asyncio.Future[Row | None]"]]


class BatchedRead:
    """`await get(key)` for the row whose `column` equals `key` (None when there is none)."""

    def __init__(self, connect: Callable[[], AbstractAsyncContextManager[Any]], query: str,
                 column: str, *, name: str, key_type: type = UUID, max_batch: int = 100,
                 max_in_flight: int = 2) -> None:
        self._connect = connect
        self.query = query
        self.column = column
        self.key_type = key_type
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._size = BATCH_SIZE.labels(name)
        self._waiting: Waiters = {}
        self._contexts: dict[Hashable, contextvars.Context] = {}  # of each key's first caller
        self._scheduled = False
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, key: Hashable) -> Row | None:
        if type(key) is not self.key_type:
            raise TypeError(f"{self.column} keys are {self.key_type.__name__}, not "
                            f"{type(key).__name__}")
        future: asyncio.Future[Row | None] = asyncio.get_running_loop().create_future()
        waiters = self._waiting.get(key)
        if waiters is None:
            self._waiting[key] = [future]
            self._contexts[key] = contextvars.copy_context()
        else:
            waiters.append(future)
        self._schedule()
        return await future

    def _schedule(self) -> None:
        if self._waiting and not self._scheduled and self._in_flight < self.max_in_flight:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._send)

    def _send(self) -> None:
        self._scheduled = False
        if not self._waiting or self._in_flight >= self.max_in_flight:
            return
        batch: Waiters = {}
        context = None
        for key in list(self._waiting)[: self.max_batch]:
            futures, first = self._waiting.pop(key), self._contexts.pop(key)
            if not all(future.done() for future in futures):  # all cancelled: not read
                batch[key] = futures
                context = context or first
        if not batch:
            self._schedule()
            return
        self._in_flight += 1
        task = asyncio.get_running_loop().create_task(self._read(batch), context=context)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._schedule()  # more than max_batch keys were waiting

    async def _read(self, batch: Waiters) -> None:
        try:
            self._size.observe(sum(len(futures) for futures in batch.values()))
            async with self._connect() as conn:
                cursor = await conn.execute(self.query, (list(batch),))
                rows = {row[self.column]: row for row in await cursor.fetchall()}
        except asyncio.CancelledError:
            for future in _unsettled(batch):
                future.cancel()
            raise
        except Exception as exc:
            for future in _unsettled(batch):
                future.set_exception(exc)
        else:
            for key, futures in batch.items():
                row = rows.get(key)
                for n, future in enumerate(_unsettled({key: futures})):
                    # Callers of the same key each get a row of their own to change.
                    future.set_result(row if n == 0 or row is None else dict(row))
        finally:
            self._in_flight -= 1
            self._schedule()


def _unsettled(batch: Waiters) -> Iterator[asyncio.Future[Row | None]]:
    for futures in batch.values():
        for future in futures:
            if not future.done():  # its request was cancelled meanwhile
                yield future
