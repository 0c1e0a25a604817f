"""Outbox benchmark: latency at idle, relay throughput, backlog under a steady publish rate.

    .venv/bin/python -m bench.outbox [--rate 1000] [--seconds 30] [--events 20000]

1. commit-to-handler latency at idle: events published one at a time, 20 ms apart; the
   handler stamps its start, the publisher stamps its commit (same machine clock);
2. throughput: a backlog of `--events` events drained by one, then two relay processes with
   a handler that does nothing (a delivery is still a transaction that marks it done);
3. publish capacity with no relay running, for reference (the ceiling of part 4);
4. steady load: `--rate` events/s, one event per transaction, for `--seconds`, against one
   relay process, then two (as `rampart serve --workers 2` runs); the backlog is sampled
   every second.

Relays run as separate processes (tests/outbox_relay.py, which the crash tests use too) with
the production defaults; the throwaway event and its subscriptions are the outbox tests' own
(tests/outbox_support.py).
Uses DATABASE_URL's server when set (scratch database `rampart_bench_outbox`), else an
embedded PostgreSQL under .data/bench-postgres. Speed is measured here, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from uuid_utils.compat import uuid7

from shared.db import migrations
from shared.db.events import publish
from shared.db.pool import Database
from shared.settings import DATA_DIR
from tests.helpers import eventually
from tests.outbox_support import (
    EFFECTS_DDL,
    Tick,
    do_nothing,
    publish_ticks,
    query,
    register,
    subscription,
)

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "rampart_bench_outbox"


def scratch_database() -> str:
    server = os.environ.get("DATABASE_URL")
    if not server:
        from shared.db.embedded import start_embedded

        server = start_embedded(DATA_DIR / "bench-postgres")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    url = urlunsplit(urlsplit(server)._replace(path="/" + DB_NAME))
    migrations.up(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(EFFECTS_DDL)
    return url


@contextmanager
def relays(url: str, mode: str, count: int) -> Iterator[None]:
    """`count` relay processes with production settings; stopped with SIGTERM on exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTBOX_")}
    env.update(OUTBOX_POLL_MS="1000", OUTBOX_LEASE_SECONDS="30", OUTBOX_BACKOFF_BASE_MS="1000",
               OUTBOX_BACKOFF_MAX_MS="600000", OUTBOX_MAX_ATTEMPTS="10")
    children = [subprocess.Popen([sys.executable, "-m", "tests.outbox_relay", url, mode],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
                for _ in range(count)]
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        yield
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=60)


async def reset(url: str) -> None:
    await query(url, "TRUNCATE kernel.outbox_deliveries, kernel.outbox_events, "
                     "public.test_effects")


async def wait_drained(url: str) -> float:
    started = time.monotonic()
    await eventually(lambda: _drained(url), timeout=600, interval=0.05)
    return time.monotonic() - started


async def _drained(url: str) -> bool:
    rows = await query(url, "SELECT count(*) AS n FROM kernel.outbox_deliveries "
                            "WHERE state <> 'done'")
    return rows[0]["n"] == 0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * p) - 1))]


async def idle_latency(url: str, events: int = 300) -> None:
    await reset(url)
    committed: dict[int, float] = {}
    with relays(url, "effect", 1):
        await asyncio.sleep(1)  # let the relay settle into its idle wait
        async with await psycopg.AsyncConnection.connect(url) as conn:
            for n in range(events):
                async with conn.transaction():
                    await publish(conn, Tick(key=uuid7(), n=n))
                committed[n] = time.time()
                await asyncio.sleep(0.02)
        await wait_drained(url)
    rows = await query(url, "SELECT n, started FROM public.test_effects")
    delays = [(r["started"] - committed[r["n"]]) * 1000 for r in rows]
    print(f"latency at idle (commit -> handler start, {len(delays)} events, 1 relay process): "
          f"p50 {statistics.median(delays):.2f} ms, p99 {percentile(delays, 0.99):.2f} ms, "
          f"max {max(delays):.2f} ms")


def children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


async def throughput(url: str, relay_count: int, events: int) -> None:
    await reset(url)
    idle = children_cpu()
    with relays(url, "noop", relay_count):  # what starting and stopping alone costs
        pass
    startup = children_cpu() - idle
    await publish_ticks(url, ((uuid7(), 0) for _ in range(events)), per_tx=500)
    before = children_cpu()
    with relays(url, "noop", relay_count):
        await wait_drained(url)
    cpu = children_cpu() - before - startup
    [row] = await query(url, "SELECT count(*) AS n, extract(epoch FROM max(done_at) - "
                             "min(done_at))::float8 AS seconds FROM kernel.outbox_deliveries")
    # CPU per delivery travels better than events/s on a machine shared with other work.
    print(f"throughput, {relay_count} relay process(es), trivial handler: {row['n']} events in "
          f"{row['seconds']:.2f} s = {row['n'] / row['seconds']:,.0f} events/s; relay CPU "
          f"{cpu / row['n'] * 1e6:.0f} us per delivery (PostgreSQL's own CPU not included)")


async def publish_capacity(url: str, seconds: float = 5) -> None:
    """The publishing side alone, as fast as 8 connections go: the ceiling for part 4."""
    await reset(url)
    db = Database(url, min_size=8, max_size=8)
    await db.open()
    deadline = time.monotonic() + seconds
    counts = [0] * 8

    async def publisher(slot: int) -> None:
        while time.monotonic() < deadline:
            async with db.transaction() as tx:
                await publish(tx, Tick(key=uuid7(), n=counts[slot]))
            counts[slot] += 1

    await asyncio.gather(*(publisher(i) for i in range(8)))
    await db.close()
    print(f"publish capacity, no relay running (1 event per transaction, 8 connections): "
          f"{sum(counts) / seconds:,.0f} events/s")


async def steady_load(url: str, rate: int, seconds: int, relay_count: int = 1) -> None:
    await reset(url)
    total = rate * seconds
    db = Database(url, min_size=8, max_size=8)
    await db.open()
    samples: list[tuple[float, int, float]] = []

    async def publisher(first: int, step: int, start: float) -> None:
        for i in range(first, total, step):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            async with db.transaction() as tx:
                await publish(tx, Tick(key=uuid7(), n=i))

    async def sampler(start: float) -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            while True:
                cur = await conn.execute(
                    "SELECT count(*), coalesce(extract(epoch FROM now() - min(next_attempt_at))"
                    ", 0)::float8 FROM kernel.outbox_deliveries WHERE state = 'pending'")
                backlog, age = await cur.fetchone()  # type: ignore[misc]
                samples.append((time.monotonic() - start, backlog, age))
                await asyncio.sleep(1)

    with relays(url, "noop", relay_count):
        start = time.monotonic()
        watch = asyncio.create_task(sampler(start))
        await asyncio.gather(*(publisher(i, 8, start) for i in range(8)))
        published_in = time.monotonic() - start
        drain = await wait_drained(url)
        watch.cancel()
    await db.close()
    lags = [r["ms"] for r in await query(
        url, "SELECT extract(epoch FROM d.done_at - e.occurred_at)::float8 * 1000 AS ms "
             "FROM kernel.outbox_deliveries d JOIN kernel.outbox_events e ON e.id = d.event_id")]
    print(f"steady load: {total} events in {published_in:.1f} s "
          f"({total / published_in:,.0f}/s asked {rate}/s), {relay_count} relay process(es)")
    print("  backlog each second:", " ".join(str(s[1]) for s in samples))
    print("  oldest due delivery (s):", " ".join(f"{s[2]:.2f}" for s in samples))
    print(f"  backlog max {max(s[1] for s in samples)}, drained {drain:.2f} s after the last "
          f"publish; publish -> handled: p50 {statistics.median(lags):.1f} ms, "
          f"p99 {percentile(lags, 0.99):.1f} ms, max {max(lags):.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    url = scratch_database()
    register(subscription(do_nothing))  # the relays' subscriber name: publish fans out to it
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    await idle_latency(url)
    await throughput(url, 1, args.events)
    await throughput(url, 2, args.events)
    await publish_capacity(url)
    await steady_load(url, args.rate, args.seconds, relay_count=1)
    await steady_load(url, args.rate, args.seconds, relay_count=2)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
