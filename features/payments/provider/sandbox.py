"""The sandbox payment provider: what Rampart charges when there is no real provider.

It behaves like the familiar test payment methods (`pm_card_visa` succeeds,
`pm_card_chargeDeclined` is declined `card_declined`, `pm_card_chargeDeclinedInsufficientFunds`
`insufficient_funds`, `pm_card_async` stays pending and succeeds `async_delay_ms` later), keeps
its own record of every charge and refund (so a test can count what was really charged), and
takes each idempotency key once, as a real provider does. Its `Behaviour` injects latency and
failures so tests can drive timeouts and outages.

Each final outcome is also reported as a signed webhook event (`charge.succeeded`,
`charge.failed`, `charge.refunded`): POSTed to `webhook_url` when one is set, and always kept
in `events`, so a test can deliver exactly what the sandbox signed.

`Sandbox` is the behaviour; `sandbox_app` serves it over HTTP (`rampart payments-sandbox`);
`InProcessProvider` is the port over it with no socket (no PAYMENT_PROVIDER_URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import Any, Literal

import httpx
import msgspec
import structlog

from features.payments import signature
from features.payments.provider.port import Charge, ChargeRequest, ProviderUnavailable

log = structlog.get_logger("rampart.payments.sandbox")
DECLINES = {"pm_card_chargeDeclined": "card_declined",
            "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds"}
SUCCEEDS = {"pm_card_visa", "pm_card_mastercard"}
ASYNC = "pm_card_async"


class Behaviour(msgspec.Struct, kw_only=True):
    """What the sandbox does to every provider call (not to its /_sandbox control routes).

    `latency_ms`: answer this much later (a charge is recorded first, as by a provider whose
    answer is slow to come back). `failure`: `error` answers 500, `hang` never answers, both
    before anything is recorded; for the next `failures_left` calls (None: every call).
    """

    latency_ms: int = 0
    failure: Literal["none", "error", "hang"] = "none"
    failures_left: int | None = None
    async_delay_ms: int = 1000
    webhook_url: str | None = None


class SandboxCharge(msgspec.Struct, kw_only=True):
    id: str
    idempotency_key: str
    amount: int
    currency: str
    payment_method: str
    status: Literal["succeeded", "failed", "pending"]
    failure_code: str | None = None
    refunded: bool = False
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    created: int = 0

    def answer(self) -> Charge:
        return Charge(id=self.id, status=self.status, decline_code=self.failure_code)


class SignedEvent(msgspec.Struct):
    """A webhook exactly as sent: the raw body and its signature header."""

    id: str
    type: str
    body: str
    signature: str


class Injected(Exception):
    """An injected failure: the HTTP server answers 500 for it."""


class Sandbox:
    def __init__(self, webhook_secret: str) -> None:
        self.secret = webhook_secret
        self.reset()

    def reset(self) -> None:
        """Forget every charge and injected fault; keep where webhooks go."""
        url = self.behaviour.webhook_url if hasattr(self, "behaviour") else None
        self.behaviour = Behaviour(webhook_url=url)
        self.charges: dict[str, SandboxCharge] = {}  # by idempotency key
        self.refunds: dict[str, str] = {}  # refund idempotency key -> charge id
        self.events: list[SignedEvent] = []
        self.calls = 0  # provider calls that reached the sandbox, failed ones included
        self._tasks: set[asyncio.Task[None]] = set()

    # -- failure and latency injection --------------------------------------------------

    async def _before(self) -> None:
        self.calls += 1
        b = self.behaviour
        if b.failure != "none" and (b.failures_left is None or b.failures_left > 0):
            if b.failures_left is not None:
                b.failures_left -= 1
            if b.failure == "hang":
                await asyncio.sleep(3600)
            raise Injected("injected failure")

    async def _latency(self) -> None:
        if self.behaviour.latency_ms:
            await asyncio.sleep(self.behaviour.latency_ms / 1000)

    # -- the provider's operations ------------------------------------------------------

    async def charge(self, key: str, amount: int, currency: str, payment_method: str,
                     metadata: dict[str, str]) -> SandboxCharge:
        await self._before()
        charge = self.charges.get(key)
        if charge is None:  # a key seen before is the same charge: nothing is charged again
            status: Literal["succeeded", "failed", "pending"] = "succeeded"
            code = DECLINES.get(payment_method)
            if code is not None:
                status = "failed"
            elif payment_method == ASYNC:
                status = "pending"
            elif payment_method not in SUCCEEDS:
                status, code = "failed", "invalid_payment_method"
            charge = self.charges[key] = SandboxCharge(
                id=f"ch_{secrets.token_hex(12)}", idempotency_key=key, amount=amount,
                currency=currency, payment_method=payment_method, status=status,
                failure_code=code, metadata=metadata, created=int(time.time()))
            if status == "pending":
                self._later(self._settle_async(charge))
            else:
                self._report(charge, f"charge.{status}")
        await self._latency()
        return charge

    async def find(self, key: str) -> SandboxCharge | None:
        await self._before()
        await self._latency()
        return self.charges.get(key)

    async def refund(self, charge_id: str, key: str) -> SandboxCharge | None:
        await self._before()
        charge = next((c for c in self.charges.values() if c.id == charge_id), None)
        if charge is not None and charge.status == "succeeded" and key not in self.refunds:
            self.refunds[key] = charge_id
            if not charge.refunded:
                charge.refunded = True
                self._report(charge, "charge.refunded")
        await self._latency()
        return charge

    async def _settle_async(self, charge: SandboxCharge) -> None:
        await asyncio.sleep(self.behaviour.async_delay_ms / 1000)
        charge.status = "succeeded"
        self._report(charge, "charge.succeeded")

    # -- webhooks -----------------------------------------------------------------------

    def _report(self, charge: SandboxCharge, kind: str) -> None:
        event_id = f"evt_{secrets.token_hex(12)}"
        body = msgspec.json.encode({"id": event_id, "type": kind, "created": int(time.time()),
                                    "data": {"object": charge}})
        event = SignedEvent(id=event_id, type=kind, body=body.decode(),
                            signature=signature.sign(self.secret, body))
        self.events.append(event)
        if self.behaviour.webhook_url:
            self._later(self._post(self.behaviour.webhook_url, event))

    async def _post(self, url: str, event: SignedEvent) -> None:
        """At least once, as providers do: a few tries with growing pauses."""
        async with httpx.AsyncClient(timeout=5) as client:
            for attempt in range(5):
                with contextlib.suppress(httpx.HTTPError):
                    answer = await client.post(url, content=event.body, headers={
                        "content-type": "application/json", signature.HEADER: event.signature})
                    if answer.status_code < 300:
                        return
                await asyncio.sleep(0.5 * 2 ** attempt)
        log.warning("sandbox_webhook_undelivered", event_id=event.id, type=event.type)

    def _later(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class InProcessProvider:
    """The port over a sandbox in this process: `make run` needs nothing else running."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def charge(self, request: ChargeRequest) -> Charge:
        try:
            charge = await self.sandbox.charge(
                request.idempotency_key, request.amount_cents, request.currency,
                request.payment_method, {"payment_id": str(request.payment_id)})
        except Injected as exc:
            raise ProviderUnavailable("sandbox failure") from exc
        return charge.answer()

    async def find_charge(self, idempotency_key: str) -> Charge | None:
        try:
            charge = await self.sandbox.find(idempotency_key)
        except Injected as exc:
            raise ProviderUnavailable("sandbox failure") from exc
        return None if charge is None else charge.answer()

    async def refund(self, charge_id: str, *, idempotency_key: str) -> None:
        try:
            charge = await self.sandbox.refund(charge_id, idempotency_key)
        except Injected as exc:
            raise ProviderUnavailable("sandbox failure") from exc
        if charge is None:
            raise ProviderUnavailable(f"the sandbox has no charge {charge_id}")

    async def close(self) -> None:
        pass
