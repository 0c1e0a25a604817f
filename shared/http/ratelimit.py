"""Token-bucket rate limiting per caller, with the IETF RateLimit response fields.

The caller is the user id (policy by role) or, when anonymous, the client IP. Buckets live in
process memory: each server process enforces the full budget on its own, so with N workers
a caller may get up to N times the budget across them (documented in the README). Failed
logins, which must hold across processes, are counted in PostgreSQL by the login slice.
"""

from __future__ import annotations

import math
import time

from litestar.types import Scope

from shared.auth.principal import Principal
from shared.http.problems import Problem
from shared.settings import Rate, Settings


class TokenBucket:
    """Refills continuously at quota/window tokens per second up to `quota`."""

    __slots__ = ("name", "policy", "rate", "tokens", "updated")

    def __init__(self, rate: Rate, now: float, name: str) -> None:
        self.name = name.encode()  # of the policy, as the RateLimit fields show it
        self.policy = b'"%s";q=%d;w=%d' % (self.name, rate.quota, rate.window)
        self.rate = rate
        self.tokens = float(rate.quota)
        self.updated = now

    def take(self, now: float) -> bool:
        rate = self.rate
        self.tokens = min(rate.quota, self.tokens + (now - self.updated) * rate.quota / rate.window)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

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

    def _evict_full(self, now: float) -> None:
        # A bucket that has refilled completely carries no information: forget it.
        for key, bucket in list(self.buckets.items()):
            if bucket.tokens + (now - bucket.updated) * bucket.rate.quota / bucket.rate.window \
                    >= bucket.rate.quota:
                del self.buckets[key]


def policy_name(policy: str) -> str:
    return "user" if policy == "customer" else policy


def rate_limit(scope: Scope, limiter: Limiter) -> None:
    """Spend one of the caller's tokens, or refuse with 429 when none is left (run by the
    admission middleware, shared/auth/middleware.py)."""
    user = scope.get("user")
    if isinstance(user, Principal):
        allowed, bucket = limiter.check(user.role, user.bucket)
    else:
        allowed, bucket = limiter.check("anon", client_ip(scope))
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
