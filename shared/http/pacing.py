"""Back-pressure: a command that publishes waits while the relays are behind.

What a write sets off runs later, in the relays: one order is six deliveries (reserve the
stock, confirm, notify, mail, two payment projections). When writes arrive faster than the
relays finish their deliveries, nothing refuses them and nothing is lost, but the backlog grows
without bound and the saga falls behind with it: measured on 2 cores, 360 orders a second for
30 s left 18,000 deliveries waiting and an order `confirmed` 15 s after its 201. A careful
service slows its writers down instead, as TCP does, rather than accepting work it cannot
finish in time.

So a slice that publishes declares `middleware=[Paced()]` (outermost, before the idempotency
record, so a waiting request holds no connection). Each process probes the relays' lag (how
long the oldest claimable delivery has been due: `outbox_sql.LAG`, lane heads only) every
`PROBE_SECONDS`. A paced request waits as long as the lag exceeds `OUTBOX_PACING_LAG_MS`, at
most `OUTBOX_PACING_MAX_WAIT_MS`, then runs: pacing slows writers down, it never turns one away.
A request that waited says how long in `Server-Timing: pacing;dur=<ms>`.

Why a wait in proportion, not a gate that shuts: every write then waits about the same short
time, so the intake settles where the relays keep up, with the lag a little above the
allowance, instead of letting writes through in bursts and holding others for whole seconds
(measured with a shut/open gate at a lag of 1 s: p99 ten times p50).

Bounds: with C clients at once, at most C / max-wait writes a second pass however far behind
the relays are, so the backlog stays bounded as long as they finish more than that. A relay
that is down altogether (nothing claims) shows as a growing lag and the
`outbox_oldest_due_age` alert, and writes go on at that pace. A probe that fails reads as no
lag: the writes meet the database's own errors, not a wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import structlog
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Gauge, Histogram

from shared.db import outbox_sql
from shared.db.connection import Bookkeeping, control
from shared.db.pool import Database
from shared.settings import Settings

log = structlog.get_logger("rampart.pacing")
PROBE_SECONDS = 0.1

LAG = Gauge("outbox_relay_lag_seconds",
            "How long the oldest claimable delivery has been due, as this process last probed",
            multiprocess_mode="mostrecent")
PACED = Histogram("http_paced_seconds", "How long paced writes waited for the relays",
                  buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class Pacer:
    """One per process: probes the relays' lag, and slows paced writes while it is long."""

    def __init__(self, db: Database, settings: Settings, subscribers: Iterable[str]) -> None:
        self.db = db
        self.lag_limit = settings.outbox_pacing_lag_ms / 1000
        self.max_wait = settings.outbox_pacing_max_wait_ms / 1000
        self.max_attempts = settings.outbox_max_attempts
        self.subscribers = sorted(subscribers)
        self.lag = 0.0
        self._probe: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.lag_limit > 0 and self.max_wait > 0 and bool(self.subscribers)

    async def start(self) -> None:
        if self.enabled:
            self._probe = asyncio.create_task(self._watch(), name="outbox-pacing-probe")

    async def stop(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)
        self.observe(0.0)  # nobody waits on a process that is stopping

    async def measure(self) -> float:
        """Seconds the oldest claimable delivery has been due (0 when the relays keep up)."""
        async with self.db.connection() as conn:
            async with conn.pipeline():
                # The claim's own plan (outbox_sql.CLAIM_PLAN), hence a transaction of its own.
                await control(conn, "BEGIN")
                await control(conn, outbox_sql.CLAIM_PLAN)
                lag = Bookkeeping(conn)
                await lag.execute(outbox_sql.LAG, {"max_attempts": self.max_attempts,
                                                   "subscribers": self.subscribers})
                await control(conn, "COMMIT")
            row = await lag.fetchone()
            await lag.close()
        return float(row["seconds"]) if row else 0.0

    def observe(self, lag: float) -> None:
        self.lag = lag
        LAG.set(lag)

    def delay(self) -> float:
        """How long a paced write waits now: as long as the relays are behind beyond the
        allowance, at most `max_wait`."""
        return min(self.max_wait, self.lag - self.lag_limit) if self.enabled else 0.0

    async def _watch(self) -> None:
        failing = False
        while True:
            try:
                self.observe(await self.measure())
                failing = False
            except Exception as exc:
                if not failing:  # said once per outage, not ten times a second
                    log.warning("outbox_pacing_probe_failed", error=repr(exc)[:200])
                failing = True
                self.observe(0.0)
            await asyncio.sleep(PROBE_SECONDS)

    async def wait(self) -> float:
        """Wait as `delay()` says; returns the seconds waited."""
        delay = self.delay()
        if delay <= 0:
            return 0.0
        await asyncio.sleep(delay)
        PACED.observe(delay)
        return delay


class Paced(ASGIMiddleware):
    """Route middleware of a command that publishes: wait for the relays first (see above)."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        pacer: Pacer | None = scope["litestar_app"].state.pacer
        waited = await pacer.wait() if pacer is not None else 0.0
        if not waited:
            await next_app(scope, receive, send)
            return
        timing = f"pacing;dur={waited * 1000:.0f}".encode()

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"server-timing", timing)]
            await send(message)

        await next_app(scope, receive, send_timed)
