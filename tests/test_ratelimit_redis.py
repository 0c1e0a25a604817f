"""Rate limits across processes: token buckets in a real Redis, and the local fallback."""

from __future__ import annotations

import io
import json

import pytest
import redis.asyncio as redis
from prometheus_client import REGISTRY
from uuid_utils.compat import uuid7

from shared.app import create_app
from shared.logging import configure_logging
from tests.fixtures import bearer, eventually, make_settings, problem, serve_in_loop

# A generous timeout where Redis is not the subject: this machine is shared and busy.
LIMITS = {"rate_limit_anon": "3/minute", "rate_limit_user": "5/minute",
          "redis_timeout_ms": 2000}


def unique_keys(app) -> None:
    """The shared Redis serves every test run on this machine: keys of this test alone."""
    app.state.limiter.prefix = f"rampart-test:{uuid7().hex}:"


async def test_two_instances_spend_one_budget(database_url, redis_url) -> None:
    settings = make_settings(redis_url=redis_url, **LIMITS)
    one, two = (create_app(settings, database_url=database_url) for _ in range(2))
    unique_keys(one)
    two.state.limiter.prefix = one.state.limiter.prefix
    caller = bearer(one, "customer")
    async with serve_in_loop(one) as first, serve_in_loop(two) as second:
        answers = [await (first if i % 2 else second).get("/v1/products", headers=caller)
                   for i in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert [a.headers["ratelimit"].split(";t=")[0] for a in answers[:5]] == [
        f'"user";r={n}' for n in (4, 3, 2, 1, 0)]
    assert all(a.headers["ratelimit-policy"] == '"user";q=5;w=60' for a in answers)


async def test_headers_and_429s_are_the_same_whichever_store_holds_the_bucket(
        database_url, redis_url) -> None:
    seen = []
    for store in ({}, {"redis_url": redis_url}):
        app = create_app(make_settings(**LIMITS, **store), database_url=database_url)
        if store:
            unique_keys(app)
        async with serve_in_loop(app) as client:
            answers = [await client.get("/v1/users/me") for _ in range(4)]
        problem(answers[-1], 429, "rate-limited")
        seen.append([(a.status_code, a.headers["ratelimit-policy"], a.headers["ratelimit"],
                      a.headers.get("retry-after"), a.headers.get("cache-control"))
                     for a in answers])
    assert seen[0] == seen[1]
    assert seen[1][-1] == (429, '"anon";q=3;w=60', '"anon";r=0;t=60', "20", "no-store")


async def test_buckets_expire_in_redis_once_they_would_be_full(database_url, redis_url) -> None:
    app = create_app(make_settings(redis_url=redis_url, **LIMITS), database_url=database_url)
    unique_keys(app)
    async with serve_in_loop(app) as client:
        await client.get("/v1/users/me")
    store = redis.Redis.from_url(redis_url)
    try:
        (key,) = await store.keys(f"{app.state.limiter.prefix}*")
        assert key.endswith(b"anon:127.0.0.1")
        assert 0 < await store.pttl(key) <= 21_000  # one token refills in 20 s, plus 1 s
    finally:
        await store.aclose()


def fallback_gauge() -> float:
    return REGISTRY.get_sample_value("rate_limit_redis_fallback") or 0.0


@pytest.fixture
def settings(own_redis):
    return make_settings(**{**LIMITS, "redis_url": own_redis.url, "redis_timeout_ms": 200})


async def test_a_stopped_redis_falls_back_to_the_local_bucket_and_comes_back(
        app, client, own_redis) -> None:
    limiter = app.state.limiter
    limiter.probe_interval = 0.05
    caller = bearer(app, "customer")
    assert (await client.get("/v1/products", headers=caller)).status_code == 200
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer)
    try:
        own_redis.stop()
        answers = [await client.get("/v1/products", headers=caller) for _ in range(4)]
        # Not failed, not refused: the process's own bucket (full: it never saw a request).
        assert [a.status_code for a in answers] == [200] * 4
        assert answers[-1].headers["ratelimit"].startswith('"user";r=1;')
        assert not limiter.using_redis and fallback_gauge() == 1
        own_redis.start()
        await eventually(lambda: limiter.using_redis)
        assert fallback_gauge() == 0
        back = await client.get("/v1/products", headers=caller)
        # Counted in Redis again: the restarted one kept nothing, so a fresh bucket there.
        assert back.headers["ratelimit"].startswith('"user";r=4;')
        store = redis.Redis.from_url(own_redis.url)
        try:
            assert len(await store.keys("rampart:rl:customer:*")) == 1
        finally:
            await store.aclose()
    finally:
        configure_logging("WARNING")
    events = [json.loads(line)["event"] for line in buffer.getvalue().splitlines()]
    assert events.count("rate_limit_redis_fallback") == 1  # said once, not per request
    assert events.count("rate_limit_redis_restored") == 1


async def test_a_redis_too_slow_to_answer_does_not_hold_the_request(app, client,
                                                                   own_redis) -> None:
    limiter = app.state.limiter
    limiter.probe_interval = 0.05
    pause = redis.Redis.from_url(own_redis.url)
    try:
        await pause.execute_command("CLIENT", "PAUSE", "1000", "ALL")
        answer = await client.get("/v1/users/me")  # waits at most REDIS_TIMEOUT_MS on Redis
        assert answer.status_code == 401 and answer.headers["ratelimit"].startswith(
            '"anon";r=2;')
        assert not limiter.using_redis
        await eventually(lambda: limiter.using_redis, timeout=5)
    finally:
        await pause.aclose()


async def test_a_redis_that_forgot_the_script_is_taught_it_again(app, client, own_redis) -> None:
    admin = redis.Redis.from_url(own_redis.url)
    try:
        assert (await client.get("/v1/users/me")).headers["ratelimit"].startswith('"anon";r=2;')
        await admin.script_flush()  # as after a restart, or a failover to a fresh replica
        again = await client.get("/v1/users/me")
        assert again.headers["ratelimit"].startswith('"anon";r=1;')  # still Redis's bucket
        assert app.state.limiter.using_redis
    finally:
        await admin.aclose()
