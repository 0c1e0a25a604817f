"""Relays that die with SIGKILL: nothing is lost, nothing is applied twice.

The doomed relay runs in a subprocess (tests/outbox_relay.py) against the test database; a
relay in this process then takes over once the dead one's leases expire.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from uuid_utils.compat import uuid7

from tests.fixtures import eventually
from tests.outbox_support import (
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

ROOT = Path(__file__).resolve().parents[1]
LEASE = 1  # seconds: how long the survivors wait for the dead relay's claims


@pytest.fixture
def spawn() -> Iterator:
    children: list[subprocess.Popen[str]] = []

    def start(url: str, mode: str, **env: str) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.outbox_relay", url, mode], cwd=ROOT, text=True,
            stdout=subprocess.DEVNULL, env={**os.environ, "OUTBOX_LEASE_SECONDS": str(LEASE),
                                         **env})
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait()


async def test_a_relay_killed_mid_batch_loses_nothing(
        database_url: str, monkeypatch: pytest.MonkeyPatch, spawn) -> None:
    url = await prepare(database_url, monkeypatch)
    sub = subscription(recorder("survivor"))
    register(sub)
    total = 300
    await publish_ticks(url, [(uuid7(), n) for n in range(total)], per_tx=50)

    doomed = spawn(url, "slow")  # 10 ms per handler: the batch takes a while
    await eventually(lambda: _effects_at_least(url, 20), timeout=20)
    doomed.send_signal(signal.SIGKILL)
    assert doomed.wait(timeout=10) == -signal.SIGKILL
    handled_before = await count_effects(url)
    assert handled_before < total  # it really died mid-way

    async with running(url, [sub], relay_settings(outbox_lease_seconds=LEASE)):
        await eventually(lambda: _effects_at_least(url, total), timeout=20)
        await asyncio.sleep(0.2)
    effects = await query(url, "SELECT n, relay FROM public.test_effects")
    assert sorted(r["n"] for r in effects) == list(range(total))  # each exactly once
    print(f"\nkilled relay handled {handled_before}, the survivor "
          f"{Counter(r['relay'] for r in effects)['survivor']}")


async def test_a_worker_killed_between_effect_and_ack_applies_the_effect_once(
        database_url: str, monkeypatch: pytest.MonkeyPatch, spawn) -> None:
    url = await prepare(database_url, monkeypatch)
    sub = subscription(recorder("survivor"))
    register(sub)
    key = uuid7()
    await publish_ticks(url, [(key, 0), (key, 1)])

    doomed = spawn(url, "die-after-effect")  # inserts its effect, then SIGKILLs itself
    assert doomed.wait(timeout=20) == -signal.SIGKILL
    async with running(url, [sub], relay_settings(outbox_lease_seconds=LEASE)):
        await eventually(lambda: _effects_at_least(url, 2), timeout=20)
        await asyncio.sleep(0.2)
    assert await query(url, "SELECT n, relay FROM public.test_effects ORDER BY serial") == [
        {"n": 0, "relay": "survivor"}, {"n": 1, "relay": "survivor"}]
    rows = await query(url, "SELECT attempts FROM kernel.outbox_deliveries ORDER BY seq")
    assert [r["attempts"] for r in rows] == [2, 1]  # the first was really delivered twice


async def _effects_at_least(url: str, n: int) -> bool:
    return await count_effects(url) >= n
