"""Token-bucket rate limiting per caller, with IETF RateLimit fields."""

from __future__ import annotations

import asyncio

import pytest

from shared.http.ratelimit import Limiter
from tests.fixtures import make_settings, problem


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_spends_refills_and_never_exceeds_its_quota() -> None:
    clock = Clock()
    limiter = Limiter(make_settings(rate_limit_anon="3/minute"), clock=clock)
    assert [limiter.check("anon", "1.2.3.4")[0] for _ in range(4)] == [True, True, True, False]
    _, bucket = limiter.check("anon", "1.2.3.4")
    assert bucket.seconds_until_next() == 20  # one token every 20 s
    clock.now += 20
    assert limiter.check("anon", "1.2.3.4")[0] is True
    clock.now += 3600
    limiter.check("anon", "1.2.3.4")
    assert limiter.buckets[("anon", "1.2.3.4")].tokens == 2  # capped at 3, minus the one spent
    assert limiter.check("anon", "5.6.7.8")[0] is True  # another caller has its own bucket


def test_full_buckets_are_forgotten_when_memory_is_bounded() -> None:
    clock = Clock()
    limiter = Limiter(make_settings(rate_limit_anon="3/minute"), clock=clock, max_keys=2)
    limiter.check("anon", "a")
    limiter.check("anon", "b")
    clock.now += 60
    limiter.check("anon", "c")
    assert set(limiter.buckets) == {("anon", "c")}


@pytest.fixture
def settings():
    return make_settings(rate_limit_anon="3/minute", rate_limit_user="5/minute")


async def test_anonymous_callers_get_429_with_retry_after(client) -> None:
    responses = [await client.get("/v1/users/me") for _ in range(3)]
    assert [r.status_code for r in responses] == [401, 401, 401]
    assert responses[0].headers["ratelimit-policy"] == '"anon";q=3;w=60'
    assert responses[0].headers["ratelimit"].startswith('"anon";r=2;t=')
    limited = await client.get("/v1/users/me")
    problem(limited, 429, "rate-limited")
    assert int(limited.headers["retry-after"]) == 20
    assert limited.headers["cache-control"] == "no-store"


async def test_operational_endpoints_are_never_limited(client) -> None:
    for _ in range(5):
        await client.get("/v1/users/me")
    for path in ("/health/live", "/health/ready", "/metrics", "/schema/openapi.json"):
        response = await client.get(path)
        assert response.status_code == 200 and "ratelimit" not in response.headers, path


async def test_concurrent_requests_share_one_bucket(client) -> None:
    responses = await asyncio.gather(*(client.get("/v1/nothing-routed-here-is-404")
                                       for _ in range(1)),
                                     *(client.post("/v1/auth/refresh", json={"refresh_token": "x"})
                                       for _ in range(6)))
    limited = [r for r in responses if r.status_code == 429]
    assert len(limited) == 3  # 3 allowed of the 6 routed requests; the 404 is not limited
