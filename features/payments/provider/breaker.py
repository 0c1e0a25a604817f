"""A circuit breaker for calls to the payment provider.

Closed: calls pass; `failures` consecutive failures open it. Open: calls fail fast with
`CircuitOpen` (carrying the seconds left, for Retry-After) for `reset_after` seconds. Then
half-open: exactly one call (the probe) passes; its success closes the circuit, its failure
opens it again for another `reset_after`. Only what `guard` is told is a failure counts
(timeouts, connection errors, 5xx): a declined card is an answer, not a failure.

Hand-written rather than a library because pay_order needs the time left (Retry-After) and a
single half-open probe, and this is the whole of it. One breaker per provider per process;
its state is the gauge `payment_provider_circuit_state` and one log line per change.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Literal

import structlog
from prometheus_client import Gauge

log = structlog.get_logger("rampart.payments")
State = Literal["closed", "open", "half_open"]
STATE = Gauge("payment_provider_circuit_state",
              "Circuit breaker of the payment provider: 0 closed, 1 half-open, 2 open",
              ["provider"], multiprocess_mode="max")
_GAUGE_VALUE = {"closed": 0, "half_open": 1, "open": 2}


class CircuitOpen(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"circuit open, retry after {retry_after}s")
        self.retry_after = retry_after


class CircuitBreaker:
    def __init__(self, name: str, *, failures: int, reset_after: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.threshold = failures
        self.reset_after = reset_after
        self._clock = clock
        self.state: State = "closed"
        self.failures = 0
        self._opened_at = 0.0
        self._probing = False
        STATE.labels(name).set(0)

    def _move(self, state: State) -> None:
        if state != self.state:
            log.warning("payment_circuit_state_changed", provider=self.name,
                        previous=self.state, state=state, failures=self.failures)
            self.state = state
            STATE.labels(self.name).set(_GAUGE_VALUE[state])

    def check(self) -> None:
        """Raise CircuitOpen if a call would not go out now; change nothing."""
        if self.state == "open":
            left = self._opened_at + self.reset_after - self._clock()
            if left > 0:
                raise CircuitOpen(max(1, math.ceil(left)))
        elif self.state == "half_open" and self._probing:
            raise CircuitOpen(1)

    def admit(self) -> None:
        """Raise CircuitOpen if a call may not go out now; otherwise let it (maybe as the
        probe). Every admitted call must be followed by `succeeded`, `failed` or `abandoned`."""
        if self.state == "open":
            left = self._opened_at + self.reset_after - self._clock()
            if left > 0:
                raise CircuitOpen(max(1, math.ceil(left)))
            self._move("half_open")
        if self.state == "half_open":
            if self._probing:
                raise CircuitOpen(1)
            self._probing = True

    def succeeded(self) -> None:
        self._probing = False
        self.failures = 0
        self._move("closed")

    def failed(self) -> None:
        self._probing = False
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.threshold:
            self._opened_at = self._clock()
            self._move("open")

    def abandoned(self) -> None:
        """The call ended without telling anything (cancelled): free the probe's place."""
        self._probing = False

    @asynccontextmanager
    async def guard(self, failure: type[BaseException]) -> AsyncIterator[None]:
        """`async with breaker.guard(ProviderUnavailable): await call()`"""
        self.admit()
        try:
            yield
        except failure:
            self.failed()
            raise
        except BaseException:
            self.abandoned()
            raise
        self.succeeded()
