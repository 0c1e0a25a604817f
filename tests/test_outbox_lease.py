"""Short leases, renewed while their deliveries run (the heartbeat).

A live relay keeps its claim for as long as its deliveries take; a dead one's claim runs out
one lease after its last renewal, and another relay takes the work over. Never does one
delivery run under two live claims: grouped deliveries, which hold no row lock until they are
marked done, are the case that proves it.
"""

from __future__ import annotations

import asyncio
import signal

import pytest
from uuid_utils.compat import uuid7

from tests.fixtures import eventually
from tests.outbox_support import (
    SeenTick,
    count_effects,
    prepare,
    publish_ticks,
    query,
    recorder,
    register,
    relay_settings,
    running,
    subscription,
)
from tests.test_outbox_crash import spawn

__all__ = ["spawn"]  # the fixture that runs a relay in a process of its own

LEASE = 1  # seconds


@pytest.fixture
async def url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    return await prepare(database_url, monkeypatch)


async def test_the_heartbeat_keeps_a_group_that_outlasts_its_lease(url: str) -> None:
    """Two deliveries in one group, each handler taking longer than the lease: a second relay
    watching all along never gets to claim them, and each runs once, on its first attempt."""
    started: list[int] = []

    async def slow(tick: SeenTick, tx: object) -> None:
        started.append(tick.n)
        await recorder("slow", sleep=1.5 * LEASE)(tick, tx)

    sub = subscription(slow, shares_transaction=True)
    register(sub)
    await publish_ticks(url, [(uuid7(), 0), (uuid7(), 1)])  # two lanes: one claim, one group
    settings = relay_settings(outbox_lease_seconds=LEASE, outbox_concurrency=1)
    async with running(url, [sub], settings):
        await eventually(lambda: started)
        async with running(url, [subscription(recorder("rival"), shares_transaction=True)],
                           settings):
            await eventually(lambda: _done(url, 2), timeout=10)
    effects = await query(url, "SELECT n, relay FROM public.test_effects ORDER BY n")
    assert effects == [{"n": 0, "relay": "slow"}, {"n": 1, "relay": "slow"}]
    rows = await query(url, "SELECT attempts FROM kernel.outbox_deliveries")
    assert [r["attempts"] for r in rows] == [1, 1]


async def test_a_killed_relays_claim_is_renewed_until_it_dies_then_taken_over(
        url: str, spawn) -> None:
    sub = subscription(recorder("survivor"), shares_transaction=True)
    register(sub)
    total = 60
    await publish_ticks(url, [(uuid7(), n) for n in range(total)], per_tx=30)
    # 100 ms per handler in two groups of 30: three seconds of work under a one-second lease.
    doomed = spawn(url, "crawl", OUTBOX_LEASE_SECONDS=str(LEASE), OUTBOX_CONCURRENCY="2")
    first = await eventually(lambda: _lease(url), timeout=20)
    await asyncio.sleep(0.8 * LEASE)
    second = await _lease(url)
    doomed.send_signal(signal.SIGKILL)
    assert await asyncio.to_thread(doomed.wait, 10) == -signal.SIGKILL
    assert second is not None, "the doomed relay finished before it could be killed"
    assert second["expires"] > first["expires"]  # renewed while its handlers ran
    assert second["left"] <= LEASE  # and never granted more than one lease ahead
    assert await count_effects(url) == 0  # its groups died uncommitted

    async with running(url, [sub], relay_settings(outbox_lease_seconds=LEASE)):
        await eventually(lambda: _done(url, total), timeout=20)
    effects = await query(url, "SELECT n, relay FROM public.test_effects")
    assert sorted(r["n"] for r in effects) == list(range(total))  # each exactly once
    assert {r["relay"] for r in effects} == {"survivor"}


async def _lease(url: str) -> dict | None:
    """The latest lease expiry among claimed deliveries, and how far ahead of now it is."""
    [row] = await query(url, "SELECT max(lease_expires_at) AS expires, extract(epoch FROM "
                             "max(lease_expires_at) - now())::float8 AS left"
                             " FROM kernel.outbox_deliveries WHERE lease_token IS NOT NULL")
    return row if row["expires"] is not None else None


async def _done(url: str, n: int) -> bool:
    rows = await query(url, "SELECT count(*) AS n FROM kernel.outbox_deliveries"
                            " WHERE state = 'done'")
    return rows[0]["n"] == n
