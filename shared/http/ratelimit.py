"""Token-bucket rate limiting per caller, with the IETF RateLimit response fields.

The caller is the user id (policy by role) or, when anonymous, the client IP. Without
REDIS_URL the buckets live in process memory (`Limiter`): each server process enforces the
full budget on its own, so with N workers a caller may get up to N times the budget. With it,
`RedisLimiter` keeps them in Redis, one atomic script per request, so every process spends
from the same bucket; when Redis is unreachable or slower than REDIS_TIMEOUT_MS the process
falls back to its own buckets (never failing or holding the request) until Redis answers a
probe again. Failed logins are counted in PostgreSQL by the login slice.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from typing import Any

import structlog
from litestar.types import Scope
from prometheus_client import Counter, Gauge

from shared.auth.principal import Principal
from shared.http.problems import Problem
from shared.settings import Rate, Settings

log = structlog.get_logger("rampart.ratelimit")
FALLBACK = Gauge("rate_limit_redis_fallback", "1 while a process keeps its rate-limit buckets "
                 "itself because Redis did not answer", multiprocess_mode="livesum")
FALLBACKS = Counter("rate_limit_redis_fallbacks_total",
                    "Times a process fell back from Redis to its own rate-limit buckets")


class Bucket:
    """A bucket's state after a request: what the RateLimit fields and Retry-After say."""

    __slots__ = ("name", "policy", "rate", "tokens")

    def __init__(self, rate: Rate, name: str, tokens: float) -> None:
        self.name = name.encode()  # of the policy, as the RateLimit fields show it
        self.policy = b'"%s";q=%d;w=%d' % (self.name, rate.quota, rate.window)
        self.rate = rate
        self.tokens = tokens

    def fields(self) -> list[tuple[bytes, bytes]]:
        """The IETF RateLimit-Policy and RateLimit fields after this request."""
        return [(b"ratelimit-policy", self.policy),
                (b"ratelimit", b'"%s";r=%d;t=%d' % (self.name, self.tokens,
                                                   self.seconds_until_full()))]

    def seconds_until_full(self) -> int:
        missing = self.rate.quota - self.tokens
        return math.ceil(missing * self.rate.window / self.rate.quota)

    def seconds_until_next(self) -> int:
        return max(1, math.ceil((1 - self.tokens) * self.rate.window / self.rate.quota))


class TokenBucket(Bucket):
    """Refills continuously at quota/window tokens per second up to `quota`."""

    __slots__ = ("updated",)

    def __init__(self, rate: Rate, now: float, name: str) -> None:
        super().__init__(rate, name, float(rate.quota))
        self.updated = now

    def take(self, now: float) -> bool:
        rate = self.rate
        self.tokens = min(rate.quota, self.tokens + (now - self.updated) * rate.quota / rate.window)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Limiter:
    def __init__(self, settings: Settings, clock=time.monotonic, max_keys: int = 100_000) -> None:
        self.policies = {"anon": settings.rate_limit_anon, "customer": settings.rate_limit_user,
                         "admin": settings.rate_limit_admin}
        self.clock = clock
        self.max_keys = max_keys
        self.buckets: dict[tuple[str, str], TokenBucket] = {}

    def check(self, policy: str, caller: str) -> tuple[bool, TokenBucket]:
        now = self.clock()
        key = (policy, caller)
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                self._evict_full(now)
            bucket = self.buckets[key] = TokenBucket(self.policies[policy], now,
                                                     policy_name(policy))
        return bucket.take(now), bucket

    async def take(self, policy: str, caller: str) -> tuple[bool, Bucket]:
        return self.check(policy, caller)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def _evict_full(self, now: float) -> None:
        # A bucket that has refilled completely carries no information: forget it.
        for key, bucket in list(self.buckets.items()):
            if bucket.tokens + (now - bucket.updated) * bucket.rate.quota / bucket.rate.window \
                    >= bucket.rate.quota:
                del self.buckets[key]


# One round trip, atomic: refill by the time elapsed (Redis's clock, the same for every
# process), spend a token if there is one, expire the key once it would be full again (a full
# bucket carries no information). Numbers cross as strings: Lua would truncate a float reply.
TAKE = """
local quota, window_ms = tonumber(ARGV[1]), tonumber(ARGV[2]) * 1000
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1])
if tokens == nil then
  tokens = quota
else
  tokens = math.min(quota, tokens + math.max(0, now - tonumber(held[2])) * quota / window_ms)
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
local text = string.format('%.6f', tokens)
redis.call('HSET', KEYS[1], 'tokens', text, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((quota - tokens) * window_ms / quota) + 1000)
return {allowed, text}
"""


class RedisLimiter:
    """Buckets in Redis, shared by every process; the local `Limiter` while Redis is away.

    The takes that arrive together (one turn of the event loop) go out as one pipeline: one
    write and one read for all of them, still one round trip each. Under load that is most of
    the client's cost (a syscall pair and a wake-up per command, measured), and nothing waits
    for company: at idle a pipeline holds one take.
    """

    probe_interval = 1.0  # seconds between probes while falling back

    def __init__(self, settings: Settings, local: Limiter, *, prefix: str = "rampart:rl:") -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        assert settings.redis_url is not None
        self.timeout = settings.redis_timeout_ms / 1000
        # No retries of its own: a failed call falls back at once instead of waiting.
        self.redis = redis.Redis.from_url(
            settings.redis_url, socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout, retry=Retry(NoBackoff(), 0))
        self.sha = hashlib.sha1(TAKE.encode()).hexdigest()
        self.local = local
        self.prefix = prefix
        self.policies = {role: (rate, policy_name(role), b"%d" % rate.quota, b"%d" % rate.window)
                         for role, rate in local.policies.items()}
        self.using_redis = True
        self._probe: asyncio.Task[None] | None = None
        self._waiting: list[tuple[str, bytes, bytes, asyncio.Future[Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def take(self, policy: str, caller: str) -> tuple[bool, Bucket]:
        if self.using_redis:
            rate, name, quota, window = self.policies[policy]
            future = asyncio.get_running_loop().create_future()
            if not self._waiting:
                asyncio.get_running_loop().call_soon(self._send)
            self._waiting.append((f"{self.prefix}{policy}:{caller}", quota, window, future))
            try:
                async with asyncio.timeout(self.timeout):
                    allowed, tokens = await future
                return allowed == 1, Bucket(rate, name, float(tokens))
            except Exception as exc:  # unreachable, slow, or answering errors: never our 500
                self._fall_back(exc)
        return self.local.check(policy, caller)

    def _send(self) -> None:
        batch, self._waiting = self._waiting, []
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[str, bytes, bytes, asyncio.Future[Any]]]) -> None:
        from redis.exceptions import NoScriptError

        try:
            for attempt in (1, 2):
                async with self.redis.pipeline(transaction=False) as pipe:
                    for key, quota, window, _ in batch:
                        pipe.evalsha(self.sha, 1, key, quota, window)
                    results = await pipe.execute(raise_on_error=False)
                if attempt == 1 and any(isinstance(r, NoScriptError) for r in results):
                    await self.redis.script_load(TAKE)  # a restarted Redis forgot it
                    continue
                break
        except Exception as exc:
            results = [exc] * len(batch)
        for (*_, future), result in zip(batch, results, strict=True):
            if future.done():  # its request gave up waiting
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def start(self) -> None:
        """Connect and load the script before the first request needs them (an absent Redis
        means starting in fallback, not failing to start)."""
        try:
            async with asyncio.timeout(max(self.timeout, 1.0)):
                await self.redis.script_load(TAKE)
        except Exception as exc:
            self._fall_back(exc)

    def _fall_back(self, exc: BaseException) -> None:
        if not self.using_redis:
            return
        self.using_redis = False
        FALLBACK.set(1)
        FALLBACKS.inc()
        log.warning("rate_limit_redis_fallback", error=f"{type(exc).__name__}: {exc}"[:200])
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._wait_for_redis(), name="rate-limit-probe")

    async def _wait_for_redis(self) -> None:
        while True:
            await asyncio.sleep(self.probe_interval)
            try:
                async with asyncio.timeout(self.timeout):
                    await self.redis.script_load(TAKE)  # answers, and holds the script
            except Exception:  # still away
                continue
            self.using_redis = True
            FALLBACK.set(0)
            log.info("rate_limit_redis_restored")
            return

    async def close(self) -> None:
        for task in (self._probe, *self._tasks):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._probe, *self._tasks) if t is not None),
                             return_exceptions=True)
        await self.redis.aclose()


def make_limiter(settings: Settings) -> Limiter | RedisLimiter:
    local = Limiter(settings)
    return local if settings.redis_url is None else RedisLimiter(settings, local)


def policy_name(policy: str) -> str:
    return "user" if policy == "customer" else policy


async def rate_limit(scope: Scope, limiter: Limiter | RedisLimiter) -> None:
    """Spend one of the caller's tokens, or refuse with 429 when none is left (run by the
    admission middleware, shared/auth/middleware.py)."""
    user = scope.get("user")
    if isinstance(user, Principal):
        allowed, bucket = await limiter.take(user.role, user.bucket)
    else:
        allowed, bucket = await limiter.take("anon", client_ip(scope))
    if not allowed:
        raise Problem(429, "Too many requests; slow down and retry after the indicated time.",
                      title="Too Many Requests", headers={
                          **{k.decode(): v.decode() for k, v in bucket.fields()},
                          "Retry-After": str(bucket.seconds_until_next())})
    # Added to the response by the request envelope (shared/http/middleware.py), which also
    # sees responses that errors raised further in produce.
    scope["state"]["rate_limit_fields"] = bucket.fields()


def client_ip(scope: Scope) -> str:
    state = scope.get("state")
    if state and "client_ip" in state:  # the envelope's, from a trusted proxy's header
        return state["client_ip"]
    client = scope.get("client")
    return client[0] if client else "unknown"
