"""Several relays on one database: every event handled once, each aggregate in order."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter, defaultdict

import pytest
from uuid_utils.compat import uuid7

from tests.fixtures import eventually
from tests.outbox_support import (
    prepare,
    publish_ticks,
    query,
    recorder,
    register,
    relay_settings,
    running,
    subscription,
)

AGGREGATES, PER_AGGREGATE, PUBLISHERS = 50, 40, 4


async def test_three_relays_handle_each_event_once_and_each_aggregate_in_order(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = await prepare(database_url, monkeypatch)
    # Same subscriber name on every relay, as when one codebase runs in several processes;
    # each relay's handler signs its effects so the test can see who did what.
    subs = [subscription(recorder(f"relay-{i}")) for i in range(3)]
    register(subs[0])
    # Small batches so that the three relays share the lanes instead of one taking all.
    settings = relay_settings(outbox_batch_size=10)
    keys = [uuid7() for _ in range(AGGREGATES)]

    async def publisher(own: list) -> None:
        # Each aggregate has one publisher, so its publish order is well defined; the
        # publishers run side by side and interleave their commits.
        ticks = [(k, n) for n in range(PER_AGGREGATE) for k in own]
        await publish_ticks(url, ticks, per_tx=random.choice([1, 5, 20]))

    async with contextlib.AsyncExitStack() as stack:
        for sub in subs:
            await stack.enter_async_context(running(url, [sub], settings))
        await asyncio.gather(*(publisher(keys[i::PUBLISHERS]) for i in range(PUBLISHERS)))
        await eventually(lambda: _all_done(url, AGGREGATES * PER_AGGREGATE), timeout=60)

    rows = await query(url, "SELECT key, n, relay FROM public.test_effects ORDER BY serial")
    assert len(rows) == AGGREGATES * PER_AGGREGATE
    assert Counter((r["key"], r["n"]) for r in rows).most_common(1)[0][1] == 1  # once each
    handled: dict[object, list[int]] = defaultdict(list)
    for row in rows:  # serial is drawn inside each handler's transaction: handling order
        handled[row["key"]].append(row["n"])
    assert all(ns == list(range(PER_AGGREGATE)) for ns in handled.values())
    by_relay = Counter(r["relay"] for r in rows)
    print(f"\nevents handled per relay: {dict(sorted(by_relay.items()))}")
    assert len(by_relay) >= 2, by_relay


async def _all_done(url: str, expected: int) -> bool:
    rows = await query(url, "SELECT count(*) AS n FROM kernel.outbox_deliveries "
                            "WHERE state = 'done'")
    return rows[0]["n"] == expected
