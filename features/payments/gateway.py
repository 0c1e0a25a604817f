"""The provider as the rest of the module calls it: the adapter the settings choose, behind
the circuit breaker. One per provider and event loop in a process, shared by pay_order, the
webhook and the recovery sweep, so they all see one breaker.

PAYMENT_PROVIDER_URL set: the HTTP adapter. Unset: the sandbox, in this process (one per
process, so the relay's sweep sees the charges the requests made).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

from litestar.di import NamedDependency, Provide

from features.payments.provider.breaker import CircuitBreaker
from features.payments.provider.http import HttpProvider
from features.payments.provider.port import (
    Charge,
    ChargeRequest,
    PaymentProvider,
    ProviderUnavailable,
)
from features.payments.provider.sandbox import InProcessProvider, Sandbox
from shared.settings import DATA_DIR, Settings

T = TypeVar("T")


class Gateway:
    def __init__(self, provider: PaymentProvider, breaker: CircuitBreaker) -> None:
        self.provider = provider
        self.breaker = breaker

    async def _guarded(self, call: Callable[[], Awaitable[T]]) -> T:
        async with self.breaker.guard(ProviderUnavailable):
            return await call()

    async def charge(self, request: ChargeRequest) -> Charge:
        return await self._guarded(lambda: self.provider.charge(request))

    async def find_charge(self, idempotency_key: str) -> Charge | None:
        return await self._guarded(lambda: self.provider.find_charge(idempotency_key))

    async def refund(self, charge_id: str, *, idempotency_key: str) -> None:
        await self._guarded(lambda: self.provider.refund(charge_id,
                                                         idempotency_key=idempotency_key))


_gateways: dict[tuple[asyncio.AbstractEventLoop, Settings], Gateway] = {}
_in_process: Sandbox | None = None


def gateway_for(settings: Settings) -> Gateway:
    # Keyed by loop too: an httpx client belongs to the loop it was made on (tests make many).
    key = (asyncio.get_running_loop(), settings)
    gateway = _gateways.get(key)
    if gateway is None:
        url = settings.payment_provider_url
        provider: PaymentProvider
        if url:
            provider = HttpProvider(url, connect_timeout=settings.payment_connect_timeout_ms / 1000,
                                    total_timeout=settings.payment_timeout_ms / 1000)
        else:
            provider = InProcessProvider(in_process_sandbox(settings))
        breaker = CircuitBreaker(provider_name(url), failures=settings.payment_breaker_failures,
                                 reset_after=settings.payment_breaker_reset_seconds)
        gateway = _gateways[key] = Gateway(provider, breaker)
    return gateway


def provider_name(url: str | None) -> str:
    """How logs and metrics name the provider: its host and port, never a credential that
    the URL may carry."""
    if not url:
        return "sandbox"
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


# For handlers: `gateway: Provider`, with `dependencies=GATEWAY` on the route.
Provider = NamedDependency[Gateway]


def _provide(settings: NamedDependency[Settings]) -> Gateway:
    return gateway_for(settings)


GATEWAY = {"gateway": Provide(_provide, sync_to_thread=False)}


def in_process_sandbox(settings: Settings) -> Sandbox:
    global _in_process
    if _in_process is None:
        _in_process = Sandbox(webhook_secret(settings) or secrets.token_hex(16))
    return _in_process


def webhook_secret(settings: Settings) -> str | None:
    """PAYMENT_WEBHOOK_SECRET; in development, when unset, one generated once under .data/
    (shared with `rampart payments-sandbox` run from the same directory). None in production
    without one: every webhook is then refused."""
    if settings.payment_webhook_secret:
        return settings.payment_webhook_secret
    if settings.is_production:
        return None
    path = DATA_DIR / "payment_webhook_secret"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(f"whsec_{secrets.token_hex(24)}")
    return path.read_text().strip()
