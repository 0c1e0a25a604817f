"""The circuit breaker, on a clock the test moves (no sleeping, no timing assertions)."""

from __future__ import annotations

import asyncio

import pytest

from features.payments.provider.breaker import STATE, CircuitBreaker, CircuitOpen


class Boom(Exception):
    pass


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, failures: int = 3, reset_after: float = 30) -> CircuitBreaker:
    return CircuitBreaker("test-provider", failures=failures, reset_after=reset_after,
                          clock=clock)


async def call(b: CircuitBreaker, fail: bool) -> None:
    async with b.guard(Boom):
        if fail:
            raise Boom


def gauge() -> float:
    return STATE.labels("test-provider")._value.get()


async def test_it_opens_after_consecutive_failures_only() -> None:
    b = breaker(Clock())
    for fail in (True, True, False, True, True):  # a success in between starts the count over
        with pytest.raises(Boom) if fail else _nothing():
            await call(b, fail)
    assert b.state == "closed" and gauge() == 0
    with pytest.raises(Boom):
        await call(b, True)
    assert b.state == "open" and gauge() == 2


async def test_while_open_it_fails_fast_with_the_time_left() -> None:
    clock = Clock()
    b = breaker(clock, failures=1, reset_after=30)
    with pytest.raises(Boom):
        await call(b, True)
    clock.now += 10.5
    with pytest.raises(CircuitOpen) as caught:
        await call(b, False)
    assert caught.value.retry_after == 20  # 19.5 s left, rounded up
    with pytest.raises(CircuitOpen):
        b.check()


async def test_one_half_open_probe_decides() -> None:
    clock = Clock()
    b = breaker(clock, failures=1, reset_after=30)
    with pytest.raises(Boom):
        await call(b, True)
    clock.now += 30
    b.check()  # would be let through, changes nothing
    assert b.state == "open"
    probe_started, release = asyncio.Event(), asyncio.Event()

    async def probe() -> None:
        async with b.guard(Boom):
            probe_started.set()
            await release.wait()

    task = asyncio.create_task(probe())
    await probe_started.wait()
    assert b.state == "half_open" and gauge() == 1
    with pytest.raises(CircuitOpen) as caught:  # only one probe at a time
        await call(b, False)
    assert caught.value.retry_after == 1
    release.set()
    await task
    assert b.state == "closed" and b.failures == 0


async def test_a_failed_probe_opens_it_again_for_the_full_time() -> None:
    clock = Clock()
    b = breaker(clock, failures=5, reset_after=30)
    for _ in range(5):
        with pytest.raises(Boom):
            await call(b, True)
    clock.now += 31
    with pytest.raises(Boom):
        await call(b, True)  # the probe: one failure is enough now
    assert b.state == "open"
    with pytest.raises(CircuitOpen) as caught:
        await call(b, False)
    assert caught.value.retry_after == 30


async def test_a_cancelled_probe_frees_its_place() -> None:
    clock = Clock()
    b = breaker(clock, failures=1, reset_after=1)
    with pytest.raises(Boom):
        await call(b, True)
    clock.now += 1

    async def hang() -> None:
        async with b.guard(Boom):
            await asyncio.sleep(3600)

    task = asyncio.create_task(hang())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await call(b, False)  # the next call may probe
    assert b.state == "closed"


async def test_other_errors_pass_through_uncounted() -> None:
    b = breaker(Clock(), failures=1)
    with pytest.raises(ValueError):
        async with b.guard(Boom):
            raise ValueError
    assert b.state == "closed" and b.failures == 0


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


async def test_each_change_of_state_is_one_log_line() -> None:
    from structlog.testing import capture_logs

    clock = Clock()
    b = breaker(clock, failures=1, reset_after=1)
    with capture_logs() as logs:
        with pytest.raises(Boom):
            await call(b, True)
        clock.now += 1
        await call(b, False)
        await call(b, False)  # no change, no line
    changes = [(e["previous"], e["state"]) for e in logs
               if e["event"] == "payment_circuit_state_changed"]
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
