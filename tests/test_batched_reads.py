"""Batched point reads (shared/db/batching.py) against the real PostgreSQL.

Reads that arrive together share one `WHERE id = ANY(%s)` statement, yet every caller gets its
own row, sees every write committed before it asked, and is unharmed by the failure or the
cancellation of a batch-mate.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
import pytest
from uuid_utils.compat import uuid7

from shared.db import Database
from shared.db.batching import BatchedRead

CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="none")
QUERY = "SELECT id, sku FROM catalog.products WHERE id = ANY(%s)"
GUARD = 10  # seconds: a read that never settles fails the test instead of hanging it


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, min_size=1, max_size=4)
    await database.open()
    yield database
    await database.close()


async def add_products(db_conn: Any, count: int) -> dict[UUID, str]:
    """Insert `count` products directly; return their sku by id."""
    now = datetime.now(UTC)
    products = {uuid7(): f"SKU-{n}" for n in range(count)}
    async with db_conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO catalog.products (id, sku, name, price_cents, currency, category,"
            " created_at, updated_at) VALUES (%s, %s, 'Thing', 100, 'EUR', 'misc', %s, %s)",
            [(pid, sku, now, now) for pid, sku in products.items()])
    return products


async def within(aw: Any) -> Any:
    async with asyncio.timeout(GUARD):
        return await aw


class Spy:
    """A `connect` around the real pool's that records the keys each statement was sent; it can
    hold the first statement (after it ran) until `release` is set, or fail the first connects."""

    def __init__(self, db: Database, *, hold: bool = False, failures: int = 0) -> None:
        self.connection, self.hold, self.failures = db.connection, hold, failures
        self.batches: list[list[Any]] = []
        self.contexts: list[str] = []  # CALLER as each statement saw it
        self.running, self.release = asyncio.Event(), asyncio.Event()

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Any]:
        if self.failures:
            self.failures -= 1
            raise OSError("connection refused")
        self.contexts.append(CALLER.get())
        async with self.connection() as conn:
            yield self._Conn(self, conn)

    class _Conn:
        def __init__(self, spy: Spy, conn: Any) -> None:
            self.spy, self.conn = spy, conn

        async def execute(self, query: str, params: tuple[list[Any]]) -> Any:
            first = not self.spy.batches
            self.spy.batches.append(list(params[0]))
            cursor = await self.conn.execute(query, params)
            if first and self.spy.hold:
                self.spy.running.set()
                await self.spy.release.wait()
            return cursor


async def asked(read: BatchedRead, key: Any) -> asyncio.Task[Any]:
    """A task reading `key`, returned once its key is waiting in `read`."""
    started = asyncio.Event()

    async def ask() -> Any:
        started.set()
        return await read.get(key)  # registers the key before it first yields

    task = asyncio.create_task(ask())
    await started.wait()
    return task


async def test_concurrent_reads_share_one_statement_and_each_gets_its_own_row(db, db_conn,
                                                                             monkeypatch):
    products = await add_products(db_conn, 18)
    ids, unknown = list(products), uuid7()
    keys = [*ids, ids[0], unknown]  # 20 callers, 19 distinct keys
    spy = Spy(db)
    monkeypatch.setattr(db, "connection", spy.connect)  # what fetch_by_key's reads connect with
    rows = await within(asyncio.gather(*(db.fetch_by_key(QUERY, key) for key in keys)))
    assert [row and (row["id"], row["sku"]) for row in rows] == [
        *((pid, products[pid]) for pid in ids), (ids[0], products[ids[0]]), None]
    assert [sorted(batch) for batch in spy.batches] == [sorted({*keys})]  # duplicate read once


async def test_a_lone_read_at_idle_is_sent_as_a_batch_of_one(db, db_conn, monkeypatch):
    [pid] = await add_products(db_conn, 1)
    spy = Spy(db)
    monkeypatch.setattr(db, "connection", spy.connect)
    assert await within(db.fetch_by_key(QUERY, pid)) == {"id": pid, "sku": "SKU-0"}
    assert spy.batches == [[pid]]


async def test_a_read_sees_a_write_committed_before_it(db, db_conn):
    [pid] = await add_products(db_conn, 1)
    assert (await within(db.fetch_by_key(QUERY, pid)))["sku"] == "SKU-0"
    async with db.transaction() as tx:
        await tx.execute("UPDATE catalog.products SET sku = 'SKU-NEW' WHERE id = %s", (pid,))
    assert (await within(db.fetch_by_key(QUERY, pid)))["sku"] == "SKU-NEW"


async def test_a_read_asked_after_a_commit_does_not_join_a_statement_already_run(db, db_conn):
    [pid] = await add_products(db_conn, 1)
    spy = Spy(db, hold=True)
    read = BatchedRead(spy.connect, QUERY, "id", name="test")
    early = await asked(read, pid)
    await within(spy.running.wait())  # its statement has read the old sku and is held
    async with db.transaction() as tx:
        await tx.execute("UPDATE catalog.products SET sku = 'SKU-NEW' WHERE id = %s", (pid,))
    assert (await within(read.get(pid)))["sku"] == "SKU-NEW"
    spy.release.set()
    assert (await within(early))["sku"] == "SKU-0"
    assert spy.batches == [[pid], [pid]]


async def test_a_failing_statement_fails_every_caller_of_its_batch(db, db_conn):
    [pid] = await add_products(db_conn, 1)
    missing = "SELECT id FROM catalog.nowhere WHERE id = ANY(%s)"
    results = await within(asyncio.gather(
        *(db.fetch_by_key(missing, uuid7()) for _ in range(3)), return_exceptions=True))
    assert all(isinstance(r, psycopg.errors.UndefinedTable) for r in results), results
    assert (await within(db.fetch_by_key(QUERY, pid)))["sku"] == "SKU-0"  # the pool is unharmed


async def test_a_failed_batch_gives_its_slot_back(db, db_conn):
    [pid] = await add_products(db_conn, 1)
    spy = Spy(db, failures=2)
    read = BatchedRead(spy.connect, QUERY, "id", name="test", max_in_flight=1)
    for _ in range(2):  # with one slot, a leaked slot would leave the next read waiting forever
        results = await within(asyncio.gather(*(read.get(pid) for _ in range(3)),
                                              return_exceptions=True))
        assert all(isinstance(r, OSError) for r in results), results
    assert (await within(read.get(pid)))["sku"] == "SKU-0"


async def test_a_cancelled_caller_leaves_its_batch_mates_their_rows(db, db_conn):
    a, b, c = await add_products(db_conn, 3)
    spy = Spy(db, hold=True)
    read = BatchedRead(spy.connect, QUERY, "id", name="test", max_in_flight=1)
    sent = [asyncio.create_task(read.get(a)) for _ in range(2)]  # one statement, held
    await within(spy.running.wait())
    waiting = [await asked(read, b), await asked(read, c)]  # queued behind it
    for task in (sent[0], waiting[0]):
        task.cancel()
    spy.release.set()
    results = await within(asyncio.gather(*sent, *waiting, return_exceptions=True))
    assert isinstance(results[0], asyncio.CancelledError)
    assert isinstance(results[2], asyncio.CancelledError)
    assert (results[1]["id"], results[3]["id"]) == (a, c)
    assert spy.batches == [[a], [c]]  # nobody is left waiting for b: it is not read


async def test_more_waiting_keys_than_max_batch_are_all_answered_in_bounded_batches(db, db_conn):
    products = await add_products(db_conn, 10)
    spy = Spy(db)
    read = BatchedRead(spy.connect, QUERY, "id", name="test", max_batch=3)
    rows = await within(asyncio.gather(*(read.get(pid) for pid in products)))
    assert {row["id"]: row["sku"] for row in rows} == products
    assert [row["id"] for row in rows] == list(products)
    assert sorted(len(batch) for batch in spy.batches) == [1, 3, 3, 3]
    assert sorted(k for batch in spy.batches for k in batch) == sorted(products)


async def test_keys_of_another_type_than_the_column_s_are_refused(db, db_conn):
    [pid] = await add_products(db_conn, 1)
    for wrong in (str(pid), pid.int):  # PostgreSQL would match them; Python's dict would not
        with pytest.raises(TypeError, match="keys are UUID"):
            await db.fetch_by_key(QUERY, wrong)
    assert (await within(db.fetch_by_key(QUERY, pid)))["sku"] == "SKU-0"


async def test_callers_of_one_key_get_rows_of_their_own_in_the_first_caller_s_trace(db, db_conn):
    [pid] = await add_products(db_conn, 1)
    spy = Spy(db)
    read = BatchedRead(spy.connect, QUERY, "id", name="test")

    async def caller(name: str) -> Any:
        CALLER.set(name)
        return await read.get(pid)

    first, second = await within(asyncio.gather(caller("a"), caller("b")))
    assert first == second and first is not second
    assert spy.batches == [[pid]] and spy.contexts == ["a"]
    await within(caller("c"))
    assert spy.contexts == ["a", "c"]  # not the context of the batch that ran before
