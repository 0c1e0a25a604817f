"""The outbox on a real PostgreSQL: atomic publish, delivery, leases, tracing, wake-ups."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from typing import ClassVar
from uuid import UUID

import psycopg
import pytest
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from uuid_utils.compat import uuid7

from shared.db import events
from shared.db import relay as relay_module
from shared.db.events import Event, publish
from shared.db.pool import Tx
from shared.logging import tracing
from shared.logging.tracing import setup_tracing, tracer
from shared.modules import Subscription
from tests.fixtures import eventually
from tests.outbox_support import (
    SUBSCRIBER,
    Handler,
    SeenTick,
    Tick,
    count_effects,
    do_nothing,
    prepare,
    publish_ticks,
    query,
    recorder,
    register,
    relay_settings,
    running,
    subscription,
)


@pytest.fixture
async def url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    return await prepare(database_url, monkeypatch)


async def test_rollback_leaves_no_event_and_no_delivery(url: str) -> None:
    register(subscription(recorder()))
    async with await psycopg.AsyncConnection.connect(url) as conn:
        with pytest.raises(RuntimeError, match="changed my mind"):
            async with conn.transaction():
                await publish(conn, Tick(key=uuid7(), n=0))
                raise RuntimeError("changed my mind")
    assert await query(url, "SELECT id FROM kernel.outbox_events") == []
    assert await query(url, "SELECT id FROM kernel.outbox_deliveries") == []


async def test_each_subscriber_gets_its_own_delivery_and_effect(url: str) -> None:
    first, second = subscription(recorder("a"), "tests.a"), subscription(recorder("b"), "tests.b")
    register(first, second)
    key = uuid7()
    await publish_ticks(url, [(key, 0)])
    rows = await query(url, "SELECT subscriber, aggregate_id, state FROM kernel.outbox_deliveries"
                            " ORDER BY subscriber")
    assert rows == [{"subscriber": s, "aggregate_id": key, "state": "pending"}
                    for s in ("tests.a", "tests.b")]
    async with running(url, [first, second]):
        await eventually(lambda: _states_are(url, {"done"}))
    effects = await query(url, "SELECT relay, key, n FROM public.test_effects ORDER BY relay")
    assert effects == [{"relay": "a", "key": key, "n": 0}, {"relay": "b", "key": key, "n": 0}]
    for name in ("tests.a", "tests.b"):
        assert _sample("outbox_deliveries_total", subscriber=name, outcome="done") >= 1
        assert _sample("outbox_handler_duration_seconds_count", subscriber=name) >= 1


async def test_a_failed_handler_leaves_no_effect_and_is_retried(url: str) -> None:
    calls: list[int] = []

    def fail_first(tick: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("flaky")

    sub = subscription(recorder(then=fail_first))
    register(sub)
    await publish_ticks(url, [(uuid7(), 0)])
    async with running(url, [sub]):
        await eventually(lambda: _states_are(url, {"done"}))
    assert await count_effects(url) == 1  # the failed attempt's insert rolled back
    [row] = await query(url, "SELECT attempts, last_error FROM kernel.outbox_deliveries")
    assert row == {"attempts": 2, "last_error": "RuntimeError: flaky"}


async def test_an_expired_lease_is_taken_over_and_the_stale_holder_cannot_ack(url: str) -> None:
    """Forced redelivery: a relay claims, stalls past its lease, another relay delivers; the
    stalled one then tries to finish and is refused. The effect exists once."""
    sub = subscription(recorder("late"))
    register(sub)
    await publish_ticks(url, [(uuid7(), 0)])
    settings = relay_settings(outbox_lease_seconds=1)
    async with running(url, [], settings) as stalled:
        stalled.subscriptions = {sub.name: sub}  # claims, but never runs its delivery loop
        token = uuid7()
        [claimed] = await stalled._claim(token)
        async with running(url, [subscription(recorder("rescuer"))], settings):
            await eventually(lambda: _states_are(url, {"done"}), timeout=5)
        await stalled._deliver(claimed, token)
    assert await query(url, "SELECT relay FROM public.test_effects") == [{"relay": "rescuer"}]
    assert _sample("outbox_deliveries_total", subscriber=SUBSCRIBER, outcome="lost") >= 1


@pytest.mark.parametrize("taken_over", ["the whole group", "one of the two"])
async def test_a_stale_group_s_mark_misses_and_it_keeps_none_of_its_effects(
        url: str, taken_over: str) -> None:
    """Grouped deliveries hold no row lock until they are marked done, last in their
    transaction. A relay that still believes in a lease that has been taken over (its clock, a
    renewal it trusted) runs the handlers, and then its mark finds fewer deliveries leased to
    it than it handled: the group rolls back, so nothing of it is kept, not even the
    deliveries that were still its own. Every effect exists once."""
    sub = subscription(recorder("stale"), shares_transaction=True)
    register(sub)
    await publish_ticks(url, [(uuid7(), 0), (uuid7(), 1)])  # two lanes: one claim, one group
    settings = relay_settings(outbox_lease_seconds=1)
    rolled_back = _sample("outbox_groups_rolled_back_total")
    async with running(url, [], settings) as stale:
        stale.subscriptions = {sub.name: sub}  # claims, but never runs its delivery loop
        token = uuid7()
        group = await stale._claim(token)
        assert len(group) == 2
        if taken_over == "the whole group":
            async with running(url, [subscription(recorder("rescuer"),
                                                  shares_transaction=True)], settings):
                await eventually(lambda: _states_are(url, {"done"}), timeout=5)
        else:  # another relay's claim of the second, as its CLAIM would write it
            await query(url, "UPDATE kernel.outbox_deliveries SET lease_token = %s"
                             " WHERE id = %s", (uuid7(), group[1].id))
        believed = relay_module._Lease(token, 60)  # live, as far as this relay knows
        assert await stale._deliver_together(group, believed) is None
    assert _sample("outbox_groups_rolled_back_total") - rolled_back == 1
    effects = await query(url, "SELECT n, relay FROM public.test_effects ORDER BY n")
    states = await query(url, "SELECT state, lease_token FROM kernel.outbox_deliveries"
                              " ORDER BY seq")
    if taken_over == "the whole group":
        assert effects == [{"n": 0, "relay": "rescuer"}, {"n": 1, "relay": "rescuer"}]
        assert [r["state"] for r in states] == ["done", "done"]
    else:  # the first is still the stale relay's, unmarked: it runs again alone
        assert effects == []
        assert [(r["state"], r["lease_token"]) for r in states] == [
            ("pending", token), ("pending", states[1]["lease_token"])]
        assert states[1]["lease_token"] != token


async def test_a_handler_that_outlives_its_timeout_is_rolled_back_and_retried(url: str) -> None:
    """Its row lock keeps other relays off the delivery while it runs; when its timeout is up
    it is cancelled, its effect rolled back, and the delivery retried. The effect exists once."""
    attempts: list[int] = []

    async def handler(tick: SeenTick, tx: Tx) -> None:
        attempts.append(1)
        await recorder("slow")(tick, tx)
        if len(attempts) == 1:
            await asyncio.sleep(5)  # far past the timeout

    settings = relay_settings(outbox_lease_seconds=1, outbox_handler_timeout_seconds=1)
    register(subscription(handler))
    await publish_ticks(url, [(uuid7(), 0)])
    async with running(url, [subscription(handler)], settings):
        await eventually(lambda: _states_are(url, {"pending"}, leased=True))
        async with running(url, [subscription(recorder("other"))], settings):
            await eventually(lambda: _states_are(url, {"done"}), timeout=5)
    [effect] = await query(url, "SELECT relay FROM public.test_effects")
    assert effect["relay"] in {"slow", "other"}  # whoever retried it
    [row] = await query(url, "SELECT attempts, last_error FROM kernel.outbox_deliveries")
    assert row["attempts"] == 2 and "longer than its timeout" in row["last_error"]


async def test_one_failure_in_a_group_leaves_the_rest_of_the_group_done_exactly_once(
        url: str) -> None:
    """Deliveries share a transaction in groups; a failing handler rolls its group back, the
    group is rerun one delivery per transaction, and only the failing one is charged."""
    failed: list[int] = []
    effect = recorder()

    async def handler(tick: SeenTick, tx: Tx) -> None:
        await effect(tick, tx)
        if tick.n == 3 and len(failed) < 2:  # in the group, then alone: then it recovers
            failed.append(tick.n)
            raise RuntimeError("flaky twice")

    sub = subscription(handler, shares_transaction=True)
    register(sub)
    await publish_ticks(url, [(uuid7(), n) for n in range(8)])  # 8 lanes: one group of 8
    before = _sample("outbox_deliveries_total", subscriber=SUBSCRIBER, outcome="done")
    rolled_back = _sample("outbox_groups_rolled_back_total")
    async with running(url, [sub], relay_settings(outbox_concurrency=1,
                                                  outbox_backoff_base_ms=10)):
        await eventually(lambda: _states_are(url, {"done"}))
    effects = await query(url, "SELECT n, count(*) AS times FROM public.test_effects"
                               " GROUP BY n ORDER BY n")
    assert effects == [{"n": n, "times": 1} for n in range(8)]
    rows = await query(url, "SELECT e.payload->>'n' AS n, d.attempts, d.last_error"
                            " FROM kernel.outbox_deliveries d"
                            " JOIN kernel.outbox_events e ON e.id = d.event_id ORDER BY 1")
    assert [(r["n"], r["attempts"]) for r in rows] == [(str(n), 2 if n == 3 else 1)
                                                       for n in range(8)]
    assert "flaky twice" in rows[3]["last_error"] and rows[0]["last_error"] is None
    after = _sample("outbox_deliveries_total", subscriber=SUBSCRIBER, outcome="done")
    assert after - before == 8
    assert _sample("outbox_groups_rolled_back_total") - rolled_back == 1


class Echo(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "key"
    key: UUID
    n: int


async def test_grouped_handlers_publish_each_event_once_and_none_from_a_rolled_back_group(
        url: str) -> None:
    """A sharing handler's events travel with its group's commit: the group that fails writes
    none of them, the reruns write each once, and the events are delivered on."""
    failed: list[int] = []
    echoes = Subscription(Echo.type_name(), "test.echo", SeenTick, recorder("echo"))

    async def handler(tick: SeenTick, tx: Tx) -> None:
        await publish(tx, Echo(key=uuid7(), n=100 + tick.n))
        if tick.n == 2 and not failed:  # fails in the group only
            failed.append(tick.n)
            raise RuntimeError("flaky once")

    sub = subscription(handler, shares_transaction=True)
    register(sub, echoes)
    await publish_ticks(url, [(uuid7(), n) for n in range(6)])  # 6 lanes: one group of 6
    async with running(url, [sub, echoes], relay_settings(outbox_concurrency=1,
                                                          outbox_backoff_base_ms=10)):
        await eventually(lambda: _states_are(url, {"done"}))
    published = await query(url, "SELECT (payload->>'n')::int AS n, count(*) AS times"
                                 " FROM kernel.outbox_events WHERE type = 'Echo'"
                                 " GROUP BY 1 ORDER BY 1")
    assert published == [{"n": 100 + n, "times": 1} for n in range(6)]
    effects = await query(url, "SELECT n FROM public.test_effects ORDER BY n")
    assert effects == [{"n": 100 + n} for n in range(6)]  # each echoed once
    assert failed == [2]


async def test_a_subscriber_that_handles_many_gets_a_claims_deliveries_in_one_call(
        url: str) -> None:
    """`handle_many`: one call and one transaction for a claim's deliveries of that
    subscriber; its lanes' later events come in later calls, each once, in lane order."""
    calls: list[list[tuple[UUID, int]]] = []
    effect = recorder()

    async def handle_many(ticks: list[SeenTick], tx: Tx) -> None:
        calls.append([(t.key, t.n) for t in ticks])
        for tick in ticks:
            await effect(tick, tx)

    async def handle_one(tick: SeenTick, tx: Tx) -> None:
        await handle_many([tick], tx)

    sub = Subscription(Tick.type_name(), SUBSCRIBER, SeenTick, handle_one,
                       handle_many=handle_many)
    register(sub)
    keys = [uuid7() for _ in range(6)]
    await publish_ticks(url, [(k, n) for n in range(3) for k in keys])  # 6 lanes of 3
    done = _sample("outbox_deliveries_total", subscriber=SUBSCRIBER, outcome="done")
    timed = _sample("outbox_handler_duration_seconds_count", subscriber=SUBSCRIBER)
    async with running(url, [sub], relay_settings(outbox_concurrency=2)):
        await eventually(lambda: _states_are(url, {"done"}))
    assert [len(c) for c in calls] == [6, 6, 6]  # a claim holds one delivery per lane
    # The metrics count deliveries, not calls.
    assert _sample("outbox_deliveries_total", subscriber=SUBSCRIBER, outcome="done") - done == 18
    assert _sample("outbox_handler_duration_seconds_count", subscriber=SUBSCRIBER) - timed == 18
    assert [sorted(n for _, n in c) for c in calls] == [[0] * 6, [1] * 6, [2] * 6]
    effects = await query(url, "SELECT key, n FROM public.test_effects ORDER BY serial")
    assert sorted((r["key"], r["n"]) for r in effects) == sorted(
        (k, n) for n in range(3) for k in keys)  # each once


async def test_a_failing_batch_is_rerun_one_by_one_and_only_the_failure_is_charged(
        url: str) -> None:
    effect = recorder()

    async def handle_one(tick: SeenTick, tx: Tx) -> None:
        await effect(tick, tx)
        if tick.n == 3:
            raise RuntimeError("this one cannot be handled")

    async def handle_many(ticks: list[SeenTick], tx: Tx) -> None:
        for tick in ticks:
            await handle_one(tick, tx)

    sub = Subscription(Tick.type_name(), SUBSCRIBER, SeenTick, handle_one,
                       handle_many=handle_many)
    register(sub)
    await publish_ticks(url, [(uuid7(), n) for n in range(6)])  # 6 lanes, one claim
    rolled_back = _sample("outbox_groups_rolled_back_total")
    async with running(url, [sub], relay_settings(outbox_max_attempts=1)):
        await eventually(lambda: _states_are(url, {"done", "dead"}))
    effects = await query(url, "SELECT n FROM public.test_effects ORDER BY n")
    assert effects == [{"n": n} for n in (0, 1, 2, 4, 5)]  # each once; 3's rolled back
    dead = await query(url, "SELECT e.payload->>'n' AS n, d.last_error FROM"
                            " kernel.outbox_deliveries d JOIN kernel.outbox_events e"
                            " ON e.id = d.event_id WHERE d.state = 'dead'")
    assert [r["n"] for r in dead] == ["3"] and "cannot be handled" in dead[0]["last_error"]
    assert _sample("outbox_groups_rolled_back_total") - rolled_back == 1


def test_handle_many_takes_no_settings() -> None:
    with pytest.raises(ValueError, match="handle_many"):
        Subscription(Tick.type_name(), SUBSCRIBER, SeenTick, do_nothing,
                     handle_many=do_nothing, needs_settings=True)  # type: ignore[arg-type]


def _batch_recorder(relay: str, calls: list[tuple[str, int, int]], *,
                    fails_on: int | None = None) -> tuple[Handler, Handler]:
    """A subscriber's (handler, handle_many): each call's transaction id and size noted in
    `calls`, each tick's effect one row; a batch holding tick `fails_on` fails whole."""
    effect = recorder(relay)

    async def handle_many(ticks: list[SeenTick], tx: Tx) -> None:
        cur = await tx.execute("SELECT txid_current() AS id")
        calls.append((relay, (await cur.fetchone())["id"], len(ticks)))
        for tick in ticks:
            await effect(tick, tx)
            if tick.n == fails_on:
                raise RuntimeError(f"{relay} cannot handle {tick.n}")

    async def handle_one(tick: SeenTick, tx: Tx) -> None:
        await handle_many([tick], tx)

    return handle_one, handle_many


@pytest.mark.parametrize("b_shares", [True, False])
async def test_batches_of_subscribers_that_share_run_in_one_transaction(
        url: str, b_shares: bool) -> None:
    """Two subscribers that handle many and share transactions: one transaction for both
    calls of a claim, in the order of their names; one that does not share keeps its own."""
    calls: list[tuple[str, int, int]] = []
    b_one, b_many = _batch_recorder("b", calls)
    a_one, a_many = _batch_recorder("a", calls)
    subs = [Subscription(Tick.type_name(), "tests.b", SeenTick, b_one, handle_many=b_many,
                         shares_transaction=b_shares),
            Subscription(Tick.type_name(), "tests.a", SeenTick, a_one, handle_many=a_many,
                         shares_transaction=True)]
    register(*subs)
    await publish_ticks(url, [(uuid7(), n) for n in range(4)])  # 4 lanes each, one claim
    async with running(url, subs, relay_settings(outbox_concurrency=2)):
        await eventually(lambda: _states_are(url, {"done"}))
    assert sorted((relay, size) for relay, _, size in calls) == [("a", 4), ("b", 4)]
    if b_shares:
        assert [relay for relay, _, _ in calls] == ["a", "b"]
        assert len({tx for _, tx, _ in calls}) == 1
    else:
        assert len({tx for _, tx, _ in calls}) == 2
    effects = await query(url, "SELECT relay, n FROM public.test_effects ORDER BY relay, n")
    assert effects == [{"relay": r, "n": n} for r in ("a", "b") for n in range(4)]  # once each


async def test_a_failing_shared_batch_reruns_each_subscriber_alone_then_one_by_one(
        url: str) -> None:
    """b's batch fails: the shared transaction rolls back, a's batch then takes effect in a
    transaction of its own, b's is rerun one by one and only tick 2's delivery is charged."""
    calls: list[tuple[str, int, int]] = []
    subs = []
    for relay, fails_on in (("a", None), ("b", 2)):
        one, many = _batch_recorder(relay, calls, fails_on=fails_on)
        subs.append(Subscription(Tick.type_name(), f"tests.{relay}", SeenTick, one,
                                 handle_many=many, shares_transaction=True))
    register(*subs)
    await publish_ticks(url, [(uuid7(), n) for n in range(4)])
    rolled_back = _sample("outbox_groups_rolled_back_total")
    async with running(url, subs, relay_settings(outbox_max_attempts=1)):
        await eventually(lambda: _states_are(url, {"done", "dead"}))
    # together (a 4, b 4), then a's alone (4) and b's alone (4), then b one by one
    assert [(relay, size) for relay, _, size in calls][:2] == [("a", 4), ("b", 4)]
    assert sorted((relay, size) for relay, _, size in calls[2:]) == [
        ("a", 4), ("b", 1), ("b", 1), ("b", 1), ("b", 1), ("b", 4)]
    assert _sample("outbox_groups_rolled_back_total") - rolled_back == 2
    effects = await query(url, "SELECT relay, n FROM public.test_effects ORDER BY relay, n")
    assert effects == [{"relay": "a", "n": n} for n in range(4)] + [
        {"relay": "b", "n": n} for n in (0, 1, 3)]  # each once; b's 2 rolled back
    dead = await query(url, "SELECT subscriber, e.payload->>'n' AS n FROM"
                            " kernel.outbox_deliveries d JOIN kernel.outbox_events e"
                            " ON e.id = d.event_id WHERE d.state = 'dead'")
    assert dead == [{"subscriber": "tests.b", "n": "2"}]


@pytest.mark.parametrize(("shares", "shared"), [
    (False, False), (True, True),
    # decided by the relay's settings (send_email: only while mail is off)
    (lambda s: s.outbox_concurrency == 1, True), (lambda s: s.outbox_concurrency > 1, False)])
async def test_only_subscribers_that_say_so_share_a_transaction(url: str, shares,
                                                                 shared: bool) -> None:
    transactions: list[int] = []

    async def handler(tick: SeenTick, tx: Tx) -> None:
        cur = await tx.execute("SELECT txid_current() AS id")
        transactions.append((await cur.fetchone())["id"])

    sub = subscription(handler, shares_transaction=shares)
    register(sub)
    await publish_ticks(url, [(uuid7(), n) for n in range(6)])  # 6 lanes, one claim
    async with running(url, [sub], relay_settings(outbox_concurrency=1)):
        await eventually(lambda: _states_are(url, {"done"}))
    assert len(transactions) == 6
    assert len(set(transactions)) == (1 if shared else 6)


async def test_stop_finishes_the_current_delivery_and_hands_back_the_rest(url: str) -> None:
    started = asyncio.Event()
    sub = subscription(recorder(sleep=0.3, then=lambda _: started.set()))
    register(sub)
    await publish_ticks(url, [(uuid7(), 0) for _ in range(5)])
    async with running(url, [sub], relay_settings(outbox_concurrency=1)):
        await eventually(started.is_set)
    rows = await query(url, "SELECT state, attempts, lease_token FROM kernel.outbox_deliveries"
                            " ORDER BY state")
    assert rows[0] == {"state": "done", "attempts": 1, "lease_token": None}
    assert rows[1:] == [{"state": "pending", "attempts": 0, "lease_token": None}] * 4
    assert await count_effects(url) == 1


@pytest.fixture
def spans() -> InMemorySpanExporter:
    setup_tracing()
    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[attr-defined]
    yield exporter
    exporter.shutdown()  # the provider keeps the processor; a stopped exporter stores nothing


async def test_the_handler_span_is_a_child_of_the_publishing_span(
        url: str, spans: InMemorySpanExporter) -> None:
    sub = subscription(recorder())
    register(sub)
    with tracer.start_as_current_span("POST /v1/things") as request_span:
        await publish_ticks(url, [(uuid7(), 0)])
    async with running(url, [sub]):
        await eventually(lambda: _states_are(url, {"done"}))
    parent = request_span.get_span_context()
    [handler_span] = [s for s in spans.get_finished_spans() if s.name == "Tick process"]
    assert handler_span.context.trace_id == parent.trace_id
    assert handler_span.parent is not None and handler_span.parent.span_id == parent.span_id
    assert handler_span.kind == trace.SpanKind.CONSUMER
    # The handler's own statements are children of the handler span, in the same trace.
    inserts = [s for s in spans.get_finished_spans() if s.name == "db INSERT"
               and s.parent is not None and s.parent.span_id == handler_span.context.span_id]
    assert inserts


async def test_a_batch_span_links_to_every_publishing_span(
        url: str, spans: InMemorySpanExporter) -> None:
    """A span has one parent; deliveries handled at once come from many requests, so their
    span links to each of them instead."""
    effect = recorder()

    async def handle_many(ticks: list[SeenTick], tx: Tx) -> None:
        for tick in ticks:
            await effect(tick, tx)

    sub = Subscription(Tick.type_name(), SUBSCRIBER, SeenTick, effect, handle_many=handle_many)
    register(sub)
    requests = []
    for _ in range(3):
        with tracer.start_as_current_span("POST /v1/things") as request_span:
            await publish_ticks(url, [(uuid7(), 0)])
        requests.append(request_span.get_span_context())
    async with running(url, [sub]):
        await eventually(lambda: _states_are(url, {"done"}))
    [batch_span] = [s for s in spans.get_finished_spans() if s.name == "Tick process"]
    assert batch_span.kind == trace.SpanKind.CONSUMER
    assert batch_span.attributes["messaging.batch.message_count"] == 3
    assert sorted((link.context.trace_id, link.context.span_id) for link in batch_span.links) \
        == sorted((r.trace_id, r.span_id) for r in requests)


async def test_unrecorded_a_handler_still_continues_its_producers_trace(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing recording spans (the default), the relay builds no SDK span, yet what a
    handler writes carries the trace: one delivery's log lines and events continue the
    producer's trace under a span id of their own; a batch's start a trace of their own."""
    monkeypatch.setattr(tracing, "_spans_recorded", False)
    seen: dict[str, tuple[str | None, str | None, str | None]] = {}

    def note(name: str) -> Handler:
        async def handle(tick: SeenTick, tx: Tx) -> None:
            seen[name] = (*tracing.current_ids(), tracing.current_traceparent())
        return handle

    async def handle_many(ticks: list[SeenTick], tx: Tx) -> None:
        await note("batch")(ticks[0], tx)

    one = subscription(note("one"), "tests.one")
    batch = Subscription(Tick.type_name(), "tests.batch", SeenTick, note("batch"),
                         handle_many=handle_many)
    register(one, batch)
    producer = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracing.UnrecordedSpan(extract({"traceparent": producer})):
        await publish_ticks(url, [(uuid7(), 0), (uuid7(), 0)])  # a batch of two: one call
    async with running(url, [one, batch]):
        await eventually(lambda: _states_are(url, {"done"}))
    trace_id, span_id, traceparent = seen["one"]
    assert trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert span_id is not None and span_id != "b7ad6b7169203331"
    assert traceparent == f"00-{trace_id}-{span_id}-00"  # not sampled: nothing records it
    batch_trace, batch_span, _ = seen["batch"]
    assert batch_trace is not None and batch_span is not None
    assert batch_trace != trace_id


async def test_the_listener_reconnects_when_its_connection_dies(url: str) -> None:
    """With polling pushed out to a minute, only a working LISTEN can deliver promptly."""
    sub = subscription(recorder())
    register(sub)
    async with running(url, [sub], relay_settings(outbox_poll_ms=60_000)):
        first_pid = await eventually(lambda: _listener_pid(url))
        await publish_ticks(url, [(uuid7(), 0)])
        await eventually(lambda: _effects_at_least(url, 1))
        await query(url, "SELECT pg_terminate_backend(%s)", (first_pid,))
        await eventually(lambda: _listener_pid(url, other_than=first_pid))
        await publish_ticks(url, [(uuid7(), 1)])
        await eventually(lambda: _effects_at_least(url, 2))


async def test_latency_from_commit_to_handler_at_idle(
        url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Measured and printed, never asserted: timing belongs to the benchmark."""
    handled = asyncio.Event()
    sub = subscription(recorder(then=lambda _: handled.set()))
    register(sub)
    committed: dict[int, float] = {}
    async with running(url, [sub]), await psycopg.AsyncConnection.connect(url) as conn:
        await eventually(lambda: _listener_pid(url))
        for n in range(110):
            handled.clear()
            async with conn.transaction():
                await publish(conn, Tick(key=uuid7(), n=n))
            committed[n] = time.time()
            await asyncio.wait_for(handled.wait(), timeout=5)
            await asyncio.sleep(0.01)  # idle: one event at a time
    rows = await query(url, "SELECT n, started FROM public.test_effects WHERE n >= 10")
    delays = sorted((r["started"] - committed[r["n"]]) * 1000 for r in rows)
    p50, p99 = statistics.median(delays), delays[round(len(delays) * 0.99) - 1]
    with capsys.disabled():
        print(f"\noutbox commit-to-handler latency at idle: p50 {p50:.2f} ms, "
              f"p99 {p99:.2f} ms, max {delays[-1]:.2f} ms over {len(delays)} events")


async def test_housekeeping_purges_done_deliveries_in_batches(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relay_module, "PURGE_BATCH", 10)
    ok, poison = subscription(recorder(), "tests.ok"), subscription(_explode, "tests.poison")
    register(ok, poison)
    keys = [uuid7() for _ in range(25)]
    await publish_ticks(url, [(k, 0) for k in keys])
    events.register([])  # an event nobody subscribes to is stored, and purged later
    await publish_ticks(url, [(uuid7(), 0)])
    settings = relay_settings(outbox_retention_hours=0, outbox_max_attempts=1)
    async with running(url, [ok, poison], settings) as relay:
        await eventually(lambda: _count(url, "state = 'done'", 25))
        await eventually(lambda: _count(url, "state = 'dead'", 25))
        purged = await relay.housekeep()
    assert purged == 25 + 1  # the done deliveries, then the subscriber-less event
    assert await _count(url, "true", 25)  # dead letters stay, and their events with them
    assert (await query(url, "SELECT count(*) AS n FROM kernel.outbox_events"))[0]["n"] == 25
    assert _sample("outbox_backlog", state="dead") == 25
    assert _sample("outbox_backlog", state="pending") == 0


async def test_deliveries_of_a_removed_subscriber_are_counted_apart_and_named(
        url: str, capsys: pytest.CaptureFixture[str]) -> None:
    kept, removed = subscription(recorder(), "tests.kept"), subscription(recorder(), "tests.gone")
    register(kept, removed)
    await publish_ticks(url, [(uuid7(), 0), (uuid7(), 0)])
    await query(url, "UPDATE kernel.outbox_deliveries SET next_attempt_at = now() - "
                     "interval '1 hour' WHERE subscriber = 'tests.gone'")
    async with running(url, [kept]) as relay:  # a build without tests.gone
        await eventually(lambda: _count(url, "state = 'done'", 2))
        await relay.housekeep(purge=False)
        await relay.housekeep(purge=False)  # named once, not at every refresh
    assert _sample("outbox_backlog", state="orphaned") == 2
    assert _sample("outbox_backlog", state="pending") == 0
    assert _sample("outbox_oldest_due_age_seconds") == 0  # not an alert for nobody
    warnings = [line for line in capsys.readouterr().out.splitlines()
                if "outbox_orphaned_deliveries" in line]
    assert len(warnings) == 1 and '"subscribers":{"tests.gone":2}' in warnings[0]


async def test_a_delivery_whose_relay_died_on_its_last_attempt_is_buried(url: str) -> None:
    sub = subscription(recorder())
    register(sub)
    await publish_ticks(url, [(uuid7(), 0)])
    await query(url, "UPDATE kernel.outbox_deliveries SET attempts = 5, lease_token = %s, "
                     "lease_expires_at = now() - interval '1 second'", (uuid7(),))
    async with running(url, [sub], relay_settings(outbox_max_attempts=5)) as relay:
        await relay.housekeep(purge=False)
    [row] = await query(url, "SELECT state, last_error FROM kernel.outbox_deliveries")
    assert row["state"] == "dead" and "lease expired" in row["last_error"]
    assert await count_effects(url) == 0


async def test_the_relays_commits_do_not_wait_for_the_wal_flush(url: str) -> None:
    """The acknowledgement turns synchronous_commit off for its own transaction only: the
    handler that runs after it (one transaction each) commits that way, and nothing else."""
    seen: list[str] = []

    async def handler(tick: SeenTick, tx: Tx) -> None:
        cur = await tx.execute("SELECT current_setting('synchronous_commit') AS value")
        seen.append((await cur.fetchone())["value"])

    sub = subscription(handler)
    register(sub)
    # The test server may run with it off altogether; this database's sessions have it on.
    [db] = await query(url, "SELECT current_database() AS name")
    await query(url, f'ALTER DATABASE "{db["name"]}" SET synchronous_commit = on')
    await publish_ticks(url, [(uuid7(), 0)])
    async with running(url, [sub]) as relay:
        await eventually(lambda: _states_are(url, {"done"}))
        async with relay.db.connection() as conn:
            after = await (await conn.execute("SHOW synchronous_commit")).fetchone()
    assert seen == ["off"]
    assert after == {"synchronous_commit": "on"}


def test_a_process_that_never_registered_reads_the_manifests(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "_subscribers", None)
    assert events.subscribers_of("NoSuchEvent") == ()
    assert events._subscribers is not None


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _explode(tick: object, tx: object) -> None:
    raise RuntimeError("poison")


async def _states_are(url: str, states: set[str], *, leased: bool = False) -> bool:
    rows = await query(url, "SELECT state, lease_token FROM kernel.outbox_deliveries")
    if leased and not any(r["lease_token"] for r in rows):
        return False
    return bool(rows) and {r["state"] for r in rows} <= states


async def _count(url: str, where: str, expected: int) -> bool:
    rows = await query(url, f"SELECT count(*) AS n FROM kernel.outbox_deliveries WHERE {where}")
    return rows[0]["n"] == expected


async def _effects_at_least(url: str, n: int) -> bool:
    return await count_effects(url) >= n


async def _listener_pid(url: str, other_than: int | None = None) -> int | None:
    rows = await query(url, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                            " AND application_name = 'rampart-outbox-listen'")
    pids = [r["pid"] for r in rows if r["pid"] != other_than]
    return pids[0] if pids else None



async def test_a_transaction_s_events_travel_with_its_commit_and_go_with_its_rollbacks(
        url: str) -> None:
    """In `Database.transaction()` publish() writes at the commit: a rolled-back transaction
    writes nothing, and an event published in a savepoint that rolls back is gone with it,
    while the rest of the transaction commits."""
    from shared.db.pool import Database

    register(subscription(do_nothing))
    db = Database(url)
    await db.open()
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await publish(tx, Tick(key=uuid7(), n=1))
                raise RuntimeError("rolled back")
        async with db.transaction() as tx:
            await publish(tx, Tick(key=uuid7(), n=2))
            with pytest.raises(RuntimeError):
                async with tx.transaction():  # a savepoint: the BEGIN is sent first
                    await publish(tx, Tick(key=uuid7(), n=3))
                    raise RuntimeError("savepoint rolled back")
            await publish(tx, Tick(key=uuid7(), n=4))
        async with db.transaction():  # nothing run, nothing published: nothing sent
            pass
    finally:
        await db.close()
    rows = await query(url, "SELECT (payload->>'n')::int AS n FROM kernel.outbox_events"
                            " ORDER BY 1")
    assert rows == [{"n": 2}, {"n": 4}]
    assert len(await query(url, "SELECT 1 FROM kernel.outbox_deliveries")) == 2


async def test_a_commit_that_published_nothing_sends_no_event_statement(url: str) -> None:
    """The idempotency kernel commits every stored command through `write_pending`; one that
    published nothing (a stock adjustment) must not pay a statement for no events. The
    connection is closed first: any statement on it would raise."""
    from shared.db.pool import Database

    db = Database(url, min_size=1, max_size=1)
    await db.open()
    try:
        async with db.connection() as conn, events.announcing(db, conn):
            await conn.close()
            await events.write_pending(conn)
    finally:
        await db.close()


async def test_a_commits_events_are_written_together_under_their_locks_in_publish_order(
        url: str) -> None:
    """A kernel transaction's events go out with its commit in one statement: each with its
    deliveries (the event's seq and aggregate), each aggregate's events in publish order and
    all of them under that aggregate's lock, so commits publishing for the same aggregates in
    any order neither deadlock nor interleave within an aggregate."""
    from shared.db.pool import Database

    register(subscription(do_nothing), subscription(do_nothing, "tests.other"))
    keys = [uuid7() for _ in range(3)]
    db = Database(url, min_size=1, max_size=8)
    await db.open()

    async def commit(tx_no: int) -> None:
        order = keys[tx_no % 3:] + keys[:tx_no % 3]
        async with db.transaction() as tx:
            for j in range(3):
                for key in reversed(order) if tx_no % 2 else order:
                    await publish(tx, Tick(key=key, n=tx_no * 10 + j, note="é \"quoted\""))
                    await asyncio.sleep(0)

    try:
        await asyncio.gather(*(commit(t) for t in range(8)))
    finally:
        await db.close()
    events = await query(url, "SELECT id, seq, aggregate_id, payload FROM kernel.outbox_events"
                              " ORDER BY seq")
    assert len(events) == 8 * 3 * 3
    assert events[0]["payload"]["note"] == "é \"quoted\""
    for key in keys:
        ns = [e["payload"]["n"] for e in events if e["aggregate_id"] == key]
        runs = [ns[i:i + 3] for i in range(0, len(ns), 3)]  # one commit's events, together
        assert all(run == [run[0] // 10 * 10 + j for j in range(3)] for run in runs), ns
    deliveries = await query(url, "SELECT d.event_id, d.subscriber FROM"
                                  " kernel.outbox_deliveries d JOIN kernel.outbox_events e"
                                  " ON e.id = d.event_id AND e.seq = d.seq"
                                  " AND e.aggregate_id = d.aggregate_id")
    assert Counter(d["subscriber"] for d in deliveries) == {SUBSCRIBER: 72, "tests.other": 72}
