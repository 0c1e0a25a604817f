"""A throwaway event, its subscriptions and an effects table, for the outbox tests and bench.

`Tick(key, n)` is the event; the subscriber's handlers write rows into `public.test_effects`,
a table the test creates in its own database. The table deliberately has no unique constraint:
an effect applied twice must show up as two rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from itertools import islice
from typing import Any, ClassVar
from uuid import UUID

import msgspec
import psycopg
from psycopg.rows import dict_row

from shared.db import events
from shared.db.events import Event, publish
from shared.db.pool import Database, Tx
from shared.db.relay import Relay
from shared.logging import configure_logging
from shared.modules import Subscription
from shared.settings import Settings, load_settings

SUBSCRIBER = "tests.effects"
EFFECTS_DDL = """
CREATE TABLE IF NOT EXISTS public.test_effects (
    serial  bigint GENERATED ALWAYS AS IDENTITY,
    key     uuid NOT NULL,
    n       integer NOT NULL,
    relay   text NOT NULL,
    started double precision NOT NULL  -- time.time() when the handler started
)"""


class Tick(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "key"
    key: UUID
    n: int
    note: str = ""


class SeenTick(msgspec.Struct, frozen=True):
    """The subscriber's own view of a Tick: only what it needs (tolerant reader)."""

    key: UUID
    n: int


Handler = Callable[[SeenTick, Tx], Awaitable[None]]


def recorder(relay: str = "r1", *, sleep: float = 0.0,
             then: Callable[[SeenTick], None] | None = None) -> Handler:
    """A handler whose effect is one row in test_effects."""

    async def handle(tick: SeenTick, tx: Tx) -> None:
        started = time.time()
        await tx.execute("INSERT INTO public.test_effects (key, n, relay, started) "
                         "VALUES (%s, %s, %s, %s)", (tick.key, tick.n, relay, started))
        if then is not None:
            then(tick)
        if sleep:
            await asyncio.sleep(sleep)

    return handle


async def do_nothing(tick: SeenTick, tx: Tx) -> None:
    pass


def die(tick: SeenTick) -> None:
    """Kill this very process between the handler's effect and its acknowledgement."""
    os.kill(os.getpid(), signal.SIGKILL)


# What `python -m tests.outbox_relay URL MODE` runs.
MODES: dict[str, Callable[[], Handler]] = {
    "effect": lambda: recorder("child"),
    "slow": lambda: recorder("child", sleep=0.01),
    "crawl": lambda: recorder("child", sleep=0.1),
    "die-after-effect": lambda: recorder("child", then=die),
    "noop": lambda: do_nothing,
}


def subscription(handler: Handler, name: str = SUBSCRIBER, *,
                 shares_transaction: bool | Callable[[Settings], bool] = False,
                 ) -> Subscription:
    return Subscription(Tick.type_name(), name, SeenTick, handler,
                        shares_transaction=shares_transaction)


def relay_settings(**overrides: Any) -> Settings:
    """Fast settings for tests: short polls, leases and backoff."""
    env = {"LOG_LEVEL": "WARNING", "RELAY_ENABLED": "true", "OUTBOX_POLL_MS": "200",
           "OUTBOX_LEASE_SECONDS": "5", "OUTBOX_BACKOFF_BASE_MS": "50",
           "OUTBOX_BACKOFF_MAX_MS": "2000", "OUTBOX_MAX_ATTEMPTS": "5"}
    env.update({k.upper(): str(v) for k, v in overrides.items()})
    return load_settings(env)


@contextlib.asynccontextmanager
async def running(url: str, subscriptions: Sequence[Subscription],
                  settings: Settings | None = None) -> AsyncIterator[Relay]:
    """A started relay with a pool of its own; stopped and closed on exit."""
    settings = settings or relay_settings()
    configure_logging(settings.log_level)  # plain JSON lines, not pretty tracebacks
    db = Database(url, min_size=1, max_size=6)
    await db.open()
    relay = Relay(db, subscriptions, settings)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()
        await db.close()


async def prepare(url: str, monkeypatch: Any) -> str:
    """Create the effects table; put back the process's subscriber table after the test."""
    monkeypatch.setattr(events, "_subscribers", events._subscribers)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(EFFECTS_DDL)
    return url


async def publish_ticks(url: str, ticks: Iterable[tuple[UUID, int]], *, per_tx: int = 1,
                        note: str = "") -> None:
    """Publish Tick events in order, `per_tx` to a transaction (registered subscribers)."""
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn:
        pending = iter(ticks)
        while chunk := list(islice(pending, per_tx)):
            async with conn.transaction():
                for key, n in chunk:
                    await publish(conn, Tick(key=key, n=n, note=note))


async def query(url: str, sql: str, params: Any = None) -> list[dict[str, Any]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True,
                                                     row_factory=dict_row) as conn:
        cur = await conn.execute(sql, params)
        return await cur.fetchall() if cur.description else []


async def count_effects(url: str) -> int:
    return (await query(url, "SELECT count(*) AS n FROM public.test_effects"))[0]["n"]


def register(*subscriptions: Subscription) -> None:
    """Who receives Tick in this process (publish fans out to these)."""
    events.register(subscriptions)
