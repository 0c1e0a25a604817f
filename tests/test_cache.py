"""The process-local read cache (shared/cache.py): bounds, TTL, the fill race, flushes."""

from __future__ import annotations

import asyncio

import pytest

from shared import cache as cache_module
from shared.cache import EVERY_KEY, LocalCache, read_through


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(**bounds) -> LocalCache:
    clock = bounds.pop("clock", Clock())
    return LocalCache("test", **{"max_entries": 3, "max_bytes": 1000, "ttl": 60, **bounds},
                      clock=clock)


def fill(cache: LocalCache, key, value="v", size=10) -> bool:
    return cache.put(key, value, size, cache.token())


def test_least_recently_used_entries_go_first_when_entries_are_capped() -> None:
    cache = make()
    for key in "abc":
        fill(cache, key)
    assert cache.get("a") == "v"  # a is now the most recently used
    fill(cache, "d")
    assert len(cache) == 3 and cache.get("b") is None and cache.get("a") == "v"
    assert cache.evictions == 1


def test_bytes_are_capped_and_a_value_larger_than_the_cap_is_not_kept() -> None:
    cache = make(max_entries=100, max_bytes=100)
    for key in "abcd":
        fill(cache, key, size=30)
    assert cache.size == 90 and cache.get("a") is None and cache.get("d") == "v"
    assert fill(cache, "huge", size=101) is False and cache.size == 90
    fill(cache, "b", size=60)  # replacing an entry counts its new size, not both
    assert cache.size == 90 and len(cache) == 2


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = make(clock=clock, ttl=60)
    fill(cache, "a")
    clock.now += 59.9
    assert cache.get("a") == "v" and cache.age("a") == pytest.approx(59.9)
    clock.now += 0.1
    assert cache.get("a") is None and len(cache) == 0 and cache.size == 0
    assert (cache.hits, cache.misses, cache.evictions) == (1, 1, 1)


def test_a_fill_that_started_before_a_drop_does_not_put_the_old_value_back() -> None:
    cache = make()
    token = cache.token()  # a read starts...
    cache.drop("a")  # ...a writer commits and drops the key...
    assert cache.put("a", "old", 10, token) is False  # ...the read's value is refused
    assert cache.get("a") is None
    assert cache.put("b", "other", 10, token) is True  # other keys are not held back
    assert fill(cache, "a", "new") is True and cache.get("a") == "new"  # a fresh read is kept


def test_a_flush_refuses_every_fill_in_flight_and_disabling_bypasses_the_cache() -> None:
    cache = make()
    fill(cache, "a")
    token = cache.token()
    cache.flush(enabled=False)
    assert len(cache) == 0 and cache.put("b", "v", 10, token) is False
    assert fill(cache, "b") is False and cache.get("b") is None  # bypassed while disabled
    cache.flush(enabled=True)
    assert fill(cache, "b") is True and cache.flushes == 2


def test_dropping_every_key_refuses_every_fill_in_flight_and_keeps_caching() -> None:
    cache = make()
    fill(cache, "a")
    fill(cache, "b")
    token = cache.token()  # a read starts...
    cache.drop(EVERY_KEY)  # ...a writer that can change every entry commits...
    assert len(cache) == 0 and cache.size == 0
    assert cache.put("c", "old", 10, token) is False  # ...no fill from before it is kept
    assert fill(cache, "c") is True and cache.get("c") == "v"  # still caching, not a flush
    assert cache.enabled and cache.flushes == 0


def test_a_notified_drop_of_every_key_is_not_parsed_as_a_key() -> None:
    cache = LocalCache("n", max_entries=3, max_bytes=100, ttl=60, key=int)
    fill(cache, 7)
    fill(cache, 8)
    cache.received(EVERY_KEY)  # int("*") would raise
    assert len(cache) == 0 and cache.invalidations == 1


def test_remembered_drops_are_bounded_and_forgetting_them_stays_safe(monkeypatch) -> None:
    monkeypatch.setattr(cache_module, "MAX_REMEMBERED_DROPS", 2)
    cache = make()
    token = cache.token()
    for key in "abc":
        cache.drop(key)
    assert len(cache._dropped) <= 2
    assert all(cache.put(key, "old", 10, token) is False for key in "abcz")


def test_a_notified_key_is_parsed_and_counted() -> None:
    cache = LocalCache("n", max_entries=3, max_bytes=100, ttl=60, key=int)
    fill(cache, 7)
    cache.received("7")
    assert cache.get(7) is None and cache.invalidations == 1


def test_zero_entries_turns_the_cache_off() -> None:
    cache = make(max_entries=0)
    assert fill(cache, "a") is False and cache.get("a") is None


async def test_coalesced_loads_share_one_read_unless_a_drop_came_between() -> None:
    cache = make()
    gate = asyncio.Event()
    loads: list[str] = []

    async def load(key):
        loads.append(key)
        n = len(loads)
        await gate.wait()
        return f"value {n}", 10

    first = asyncio.create_task(read_through(cache, "k", load, coalesce=True))
    await asyncio.sleep(0)
    second = asyncio.create_task(read_through(cache, "k", load, coalesce=True))
    await asyncio.sleep(0)
    cache.drop("k")  # a write committed: a read starting now must not join the old load
    third = asyncio.create_task(read_through(cache, "k", load, coalesce=True))
    await asyncio.sleep(0)
    gate.set()
    assert await first == "value 1" and await second == "value 1"
    assert await third == "value 2" and len(loads) == 2
    assert cache.get("k") == "value 2"  # the pre-drop value was not stored


async def test_a_failed_coalesced_load_fails_alone_and_the_waiters_load_again() -> None:
    cache = make()
    gate = asyncio.Event()
    calls = 0

    async def load(key):
        nonlocal calls
        calls += 1
        if calls == 1:
            await gate.wait()
            raise RuntimeError("the database went away")
        return "ok", 10

    first = asyncio.create_task(read_through(cache, "k", load, coalesce=True))
    await asyncio.sleep(0)
    second = asyncio.create_task(read_through(cache, "k", load, coalesce=True))
    await asyncio.sleep(0)
    gate.set()
    with pytest.raises(RuntimeError):
        await first
    assert await second == "ok" and calls == 2
