"""How relays learn of new events: woken after the commit, not by a NOTIFY inside it.

A transaction the kernel owns (`Database.transaction()`, the Idempotency-Key transaction) does
not NOTIFY: once it has committed, this process's relays are woken in-process and the others
by a NOTIFY from a connection of its own (shared/db/events.py). Each test pushes the poll out
to a minute, so only the wake-up under test can deliver within the test's patience.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from uuid_utils.compat import uuid7

from shared.db import events
from shared.db.events import NOTIFY_CHANNEL, publish
from shared.db.pool import Database, Tx
from shared.db.relay import Relay
from shared.modules import Subscription
from shared.settings import Settings
from tests.fixtures import bearer, eventually, make_settings
from tests.outbox_support import (
    SeenTick,
    Tick,
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
from tests.test_outbox_delivery import Echo

__all__ = ["spawn"]  # the fixture that runs a relay in a process of its own

NO_POLL = relay_settings(outbox_poll_ms=60_000)


@pytest.fixture
async def url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    return await prepare(database_url, monkeypatch)


@contextlib.asynccontextmanager
async def publisher(url: str) -> AsyncIterator[Database]:
    db = Database(url, min_size=1, max_size=2)
    await db.open()
    try:
        yield db
    finally:
        await db.close()


@contextlib.asynccontextmanager
async def listening(url: str) -> AsyncIterator[list[psycopg.Notify]]:
    """What arrives on the relays' channel while the block runs (and shortly after)."""
    heard: list[psycopg.Notify] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

        async def collect() -> None:
            async for notify in conn.notifies():
                heard.append(notify)

        task = asyncio.create_task(collect())
        try:
            yield heard
            await asyncio.sleep(0.5)  # a NOTIFY sent at commit has long arrived by now
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def _deaf(self: Relay) -> None:  # a relay's listener that hears no NOTIFY at all
    await asyncio.Event().wait()


async def test_a_commit_wakes_the_relay_of_its_own_process_without_any_notify(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Relay, "_listen", _deaf)
    monkeypatch.setattr(events._Notifier, "poke", lambda self: None)  # and none is sent
    sub = subscription(recorder())
    register(sub)
    async with running(url, [sub], NO_POLL) as relay, publisher(url) as db, \
            listening(url) as heard:
        await eventually(lambda: relay._idle)  # the loop has claimed nothing and sleeps
        async with db.transaction() as tx:
            await publish(tx, Tick(key=uuid7(), n=0))
        await eventually(lambda: _effects_at_least(url, 1))
    assert heard == []


async def test_a_saga_step_s_commit_wakes_its_own_relay_and_no_other_process(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler that publishes the next event: its relay claims that right after its batch,
    with no NOTIFY (which would only send every other relay to claim too) and no poll."""
    monkeypatch.setattr(Relay, "_listen", _deaf)

    async def step(tick: SeenTick, tx: Tx) -> None:
        await publish(tx, Echo(key=tick.key, n=100 + tick.n))

    sub = subscription(step)
    echoes = Subscription(Echo.type_name(), "test.echo", SeenTick, recorder("echo"))
    register(sub, echoes)
    async with running(url, [sub, echoes], NO_POLL) as relay, publisher(url) as db, \
            listening(url) as heard:
        await eventually(lambda: relay._idle)  # the loop has claimed nothing and sleeps
        async with db.transaction() as tx:
            for n in range(3):
                await publish(tx, Tick(key=uuid7(), n=n))
        await eventually(lambda: _effects_at_least(url, 3))
    assert heard == []
    effects = await query(url, "SELECT n FROM public.test_effects ORDER BY n")
    assert effects == [{"n": 100}, {"n": 101}, {"n": 102}]


def counting_claims(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch the relays claim from now on (0: a claim that found nothing)."""
    sizes: list[int] = []
    claim = Relay._claim

    async def counted(self: Relay, token: Any) -> Any:
        batch = await claim(self, token)
        sizes.append(len(batch))
        return batch

    monkeypatch.setattr(Relay, "_claim", counted)
    return sizes


async def _delivered_and_asleep(url: str, relay: Relay, n: int) -> bool:
    return relay._idle and await _effects_at_least(url, n)


async def test_a_batch_that_took_everything_due_sleeps_without_claiming_again(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The claim also asks whether anything due is left besides its own batch: when nothing
    is and nobody published meanwhile, the relay sleeps once the batch is done, instead of
    claiming once more to find nothing (one claim per event at low load, not two)."""
    monkeypatch.setattr(Relay, "_listen", _deaf)
    sub = subscription(recorder())
    register(sub)
    async with running(url, [sub], NO_POLL) as relay, publisher(url) as db:
        await eventually(lambda: relay._idle)
        claims = counting_claims(monkeypatch)
        async with db.transaction() as tx:
            await publish(tx, Tick(key=uuid7(), n=0))
        await eventually(lambda: _delivered_and_asleep(url, relay, 1))
        await asyncio.sleep(0.2)  # a claim it was going to send has long been sent
    assert claims == [1]


async def test_a_lane_s_next_event_is_claimed_right_after_the_one_before(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A claim takes only the head of each lane; the lane mates it left due behind it make the
    relay claim again at once, with no wake-up and no poll."""
    monkeypatch.setattr(Relay, "_listen", _deaf)
    sub = subscription(recorder())
    register(sub)
    key = uuid7()
    async with running(url, [sub], NO_POLL) as relay, publisher(url) as db:
        await eventually(lambda: relay._idle)
        claims = counting_claims(monkeypatch)
        async with db.transaction() as tx:
            for n in range(3):
                await publish(tx, Tick(key=key, n=n))
        await eventually(lambda: _delivered_and_asleep(url, relay, 3))
    assert claims == [1, 1, 1]
    assert await query(url, "SELECT n FROM public.test_effects ORDER BY started") == [
        {"n": 0}, {"n": 1}, {"n": 2}]


async def test_a_failed_delivery_s_retry_is_claimed_when_due_without_the_poll(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch in which a delivery failed is followed by a claim: it learns when the retry
    falls due (50 ms of backoff here) and sleeps until then, not until the poll."""
    monkeypatch.setattr(Relay, "_listen", _deaf)
    record, tries = recorder(), []

    async def flaky(tick: SeenTick, tx: Tx) -> None:
        tries.append(tick.n)
        if len(tries) == 1:
            raise RuntimeError("the first attempt fails")
        await record(tick, tx)

    sub = subscription(flaky)
    register(sub)
    async with running(url, [sub], NO_POLL) as relay, publisher(url) as db:
        await eventually(lambda: relay._idle)
        async with db.transaction() as tx:
            await publish(tx, Tick(key=uuid7(), n=0))
        await eventually(lambda: _effects_at_least(url, 1))
    assert tries == [0, 0]


async def test_a_stopping_relay_s_handler_commit_wakes_the_other_processes(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relay that stops claims nothing more: its handler's event is announced by a NOTIFY,
    for a relay elsewhere to deliver."""
    monkeypatch.setattr(Relay, "_listen", _deaf)
    relays: list[Relay] = []

    async def step(tick: SeenTick, tx: Tx) -> None:
        while not relays[0]._stopping:  # noqa: ASYNC110 (publish once the relay stops)
            await asyncio.sleep(0.01)
        await publish(tx, Echo(key=tick.key, n=100 + tick.n))

    sub = subscription(step)
    echoes = Subscription(Echo.type_name(), "test.echo", SeenTick, recorder("echo"))
    register(sub, echoes)
    async with publisher(url) as db, listening(url) as heard, \
            running(url, [sub, echoes], NO_POLL) as relay:
        relays.append(relay)
        await eventually(lambda: relay._idle)  # the loop has claimed nothing and sleeps
        async with db.transaction() as tx:  # an idle relay takes it: no NOTIFY
            await publish(tx, Tick(key=uuid7(), n=0))
        await eventually(lambda: _delivery_leased(url))
    assert len(heard) == 1
    assert await query(url, "SELECT count(*) AS n FROM kernel.outbox_events"
                            " WHERE type = 'Echo'") == [{"n": 1}]


async def test_a_kernel_transaction_does_not_notify_from_inside_it(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the notifier's own NOTIFY, after the commit; a bare psycopg transaction (no
    kernel around it) still NOTIFYs from inside, as the one way it can wake anyone."""
    monkeypatch.setattr(events._Notifier, "poke", lambda self: None)
    register(subscription(recorder()))
    async with publisher(url) as db, listening(url) as heard:
        async with db.transaction() as tx:
            await publish(tx, Tick(key=uuid7(), n=0))
            rolled_back = None
        with contextlib.suppress(RuntimeError):
            async with db.transaction() as tx:
                await publish(tx, Tick(key=uuid7(), n=1))
                rolled_back = tx
                raise RuntimeError("changed my mind")
    assert heard == [] and rolled_back is not None
    async with listening(url) as heard:
        await publish_ticks(url, [(uuid7(), 2)])
    assert len(heard) == 1


async def test_the_commit_wakes_a_relay_in_another_process(url: str, spawn) -> None:
    register(subscription(recorder()))  # publish() fans out to the subscriber's name
    spawn(url, "effect", OUTBOX_POLL_MS="60000")
    await eventually(lambda: _listener_count(url, 1), timeout=20)
    await asyncio.sleep(0.2)  # its first claim found nothing: it sleeps for a minute
    async with publisher(url) as db, listening(url) as heard:
        for n in range(3):  # a burst: the first NOTIFY at once, the rest coalesced
            async with db.transaction() as tx:
                await publish(tx, Tick(key=uuid7(), n=n))
        await eventually(lambda: _effects_at_least(url, 3), timeout=10)
    assert 1 <= len(heard) <= 3
    assert {r["relay"] for r in await query(url, "SELECT relay FROM public.test_effects")} \
        == {"child"}


async def test_a_pool_closed_right_after_a_commit_still_sends_its_notify(url: str) -> None:
    """What a CLI command does (create-admin publishes, then exits): the wake-up is not lost."""
    register(subscription(recorder()))
    async with listening(url) as heard:
        db = Database(url, min_size=1, max_size=2)
        await db.open()
        async with db.transaction() as tx:
            await publish(tx, Tick(key=uuid7(), n=0))
        await db.close()
    assert len(heard) == 1


class TestThroughTheApp:
    """The Idempotency-Key transaction is the kernel's too: a create that publishes wakes the
    app's own relay after its commit, with no NOTIFY and no poll."""

    @pytest.fixture
    def settings(self, monkeypatch: pytest.MonkeyPatch) -> Settings:
        monkeypatch.setattr(Relay, "_listen", _deaf)
        monkeypatch.setattr(events._Notifier, "poke", lambda self: None)
        return make_settings(relay_enabled="true", outbox_poll_ms="60000")

    async def test_a_created_product_reaches_inventory(self, app, client) -> None:
        await asyncio.sleep(0.2)  # the relay's first claim found nothing; it sleeps a minute
        created = await client.post("/v1/products", headers={
            **bearer(app), "Idempotency-Key": "k"}, json={
            "sku": "TEA-1", "name": "Tea", "price_cents": 450, "currency": "EUR",
            "category": "tea"})
        assert created.status_code == 201, created.text

        async def tracked() -> bool:
            return (await client.get(f"/v1/inventory/{created.json()['id']}")).status_code == 200

        assert await eventually(tracked)


async def _effects_at_least(url: str, n: int) -> bool:
    return await count_effects(url) >= n


async def _delivery_leased(url: str) -> bool:
    rows = await query(url, "SELECT count(*) AS n FROM kernel.outbox_deliveries"
                            " WHERE lease_token IS NOT NULL")
    return rows[0]["n"] >= 1


async def _listener_count(url: str, n: int) -> bool:
    rows = await query(url, "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = "
                            "current_database() AND application_name = 'rampart-outbox-listen'")
    return rows[0]["n"] >= n
