"""Read caches held in each server process, kept right across processes by invalidation.

A `LocalCache` is a bounded LRU (entries and bytes capped) whose entries also expire after a
TTL. It cannot know by itself when the database changes: writers drop entries through
`Caches.invalidate(tx, ...)`, which NOTIFYs inside the writing transaction, and every process's
listener (shared/db/invalidations.py) drops the entry when the change commits. A cache whose
listener is disconnected might miss a drop, so it is flushed and bypassed until the listener is
back (and flushed again then); the TTL is the last bound if all else fails.

The fill race: a read that started before a drop must not put what it read back after it.
`token()` before the read and `put(..., token)` after it refuse the value when the key (or the
whole cache) was dropped in between: a per-key generation check. Single-threaded by design:
every method runs on the event loop, none awaits.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge

from shared.db.events import after_commit
from shared.db.invalidations import notify
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.db.pool import Tx

HITS = Counter("cache_hits_total", "Reads answered from a process-local cache", ["cache"])
MISSES = Counter("cache_misses_total", "Reads a process-local cache could not answer", ["cache"])
EVICTIONS = Counter("cache_evictions_total", "Entries dropped to stay within bounds or TTL",
                    ["cache", "reason"])
INVALIDATIONS = Counter("cache_invalidations_total",
                        "Invalidations received from writers (all processes)", ["cache"])
FLUSHES = Counter("cache_flushes_total", "Whole-cache flushes (listener lost or reconnected)",
                  ["cache"])
# Age = time() - this; the oldest across live processes is the one that matters.
LAST_FLUSH = Gauge("cache_last_flush_timestamp_seconds", "When a cache was last flushed whole",
                   ["cache"], multiprocess_mode="livemin")
LAST_FLUSH_AGE = Gauge("cache_last_flush_age_seconds",
                       "Seconds since a cache was last flushed whole (refreshed every few s)",
                       ["cache"], multiprocess_mode="livemax")

ENTRIES = Gauge("cache_entries", "Entries held (refreshed every few seconds)", ["cache"],
                multiprocess_mode="liveall")
BYTES = Gauge("cache_bytes", "Bytes held, as the cache sizes its entries (refreshed every few s)",
              ["cache"], multiprocess_mode="liveall")

# The key that stands for every key of a cache: `invalidate(tx, SPEC, EVERY_KEY)` drops them all
# (for caches of query results, such as pages of a list, that one write can change many of).
EVERY_KEY = "*"

# A dropped key's generation is remembered for fills still in flight; past this many the
# memory is reset and every fill in flight is refused instead (safe, and rare).
MAX_REMEMBERED_DROPS = 10_000


class LocalCache:
    """LRU of `max_entries` entries and `max_bytes` bytes (as the caller sizes them), each
    entry kept at most `ttl` seconds. `max_entries=0` turns the cache off."""

    def __init__(self, name: str, *, max_entries: int, max_bytes: int, ttl: float,
                 key: Callable[[str], Hashable] = str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.parse_key = key  # a key as a notification spells it -> the key callers use
        self.clock = clock
        self.enabled = max_entries > 0
        self.size = 0  # bytes held
        self._entries: OrderedDict[Hashable, tuple[Any, int, float]] = OrderedDict()
        self._generation = 0
        self._dropped: dict[Hashable, int] = {}  # key -> generation of its last drop
        self._floor = 0  # tokens below this are refused (the last flush)
        self.loading: dict[Hashable, tuple[int, asyncio.Future[Any]]] = {}  # coalesced loads
        self.hits = self.misses = self.evictions = self.invalidations = self.flushes = 0
        self._hit, self._miss = HITS.labels(name), MISSES.labels(name)
        self._evicted = {reason: EVICTIONS.labels(name, reason) for reason in ("size", "ttl")}
        self._invalidated = INVALIDATIONS.labels(name)
        self.flushed_at = time.time()
        LAST_FLUSH.labels(name).set(self.flushed_at)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any:
        """The value, or None on a miss (absent, expired, or the cache is bypassed)."""
        entry = self._entries.get(key)
        if entry is not None:
            if entry[2] > self.clock():
                self._entries.move_to_end(key)
                self.hits += 1
                self._hit.inc()
                return entry[0]
            self._remove(key)
            self._evict("ttl")
        self.misses += 1
        self._miss.inc()
        return None

    def token(self) -> int:
        """Take before reading what `put` will store."""
        return self._generation

    def current(self, key: Hashable, token: int) -> bool:
        """Whether nothing dropped `key` since `token()` was taken."""
        return token >= self._floor and token >= self._dropped.get(key, 0)

    def put(self, key: Hashable, value: Any, size: int, token: int) -> bool:
        """Store `value` read after `token()`, unless the key was dropped meanwhile."""
        if not self.enabled or not self.current(key, token) or size > self.max_bytes:
            return False
        if key in self._entries:
            self._remove(key)
        self._entries[key] = (value, size, self.clock() + self.ttl)
        self.size += size
        while len(self._entries) > self.max_entries or self.size > self.max_bytes:
            self._remove(next(iter(self._entries)))
            self._evict("size")
        return True

    def drop(self, key: Hashable) -> None:
        """Forget `key`, and refuse the fills of it that started before now (every key's,
        for `EVERY_KEY`)."""
        if key == EVERY_KEY:
            self._forget_all()
            return
        self._generation += 1
        if len(self._dropped) >= MAX_REMEMBERED_DROPS:
            self._dropped.clear()
            self._floor = self._generation
        self._dropped[key] = self._generation
        if key in self._entries:
            self._remove(key)

    def received(self, key: str) -> None:
        """An invalidation from a writer, maybe in another process."""
        self.invalidations += 1
        self._invalidated.inc()
        self.drop(key if key == EVERY_KEY else self.parse_key(key))

    def flush(self, *, enabled: bool) -> None:
        """Forget everything, refuse every fill in flight; `enabled=False` bypasses the cache
        (no fills) until flushed again with `enabled=True`."""
        self._forget_all()
        self.enabled = enabled and self.max_entries > 0
        self.flushes += 1
        FLUSHES.labels(self.name).inc()
        self.flushed_at = time.time()
        LAST_FLUSH.labels(self.name).set(self.flushed_at)
        LAST_FLUSH_AGE.labels(self.name).set(0)

    def age(self, key: Hashable) -> float | None:
        """Seconds since `key`'s entry was stored, or None when it is not held."""
        entry = self._entries.get(key)
        return None if entry is None else self.ttl - (entry[2] - self.clock())

    def _forget_all(self) -> None:
        self._generation += 1
        self._floor = self._generation
        self._dropped.clear()
        self._entries.clear()
        self.size = 0

    def _remove(self, key: Hashable) -> None:
        self.size -= self._entries.pop(key)[1]

    def _evict(self, reason: str) -> None:
        self.evictions += 1
        self._evicted[reason].inc()


@dataclass(frozen=True)
class CacheSpec:
    """A cache a slice declares: its name (the notification's prefix), how a notified key is
    parsed back, and its bounds from the settings."""

    name: str
    key: Callable[[str], Hashable] = str
    ttl: Callable[[Settings], float] = lambda s: s.product_cache_ttl
    max_entries: Callable[[Settings], int] = lambda s: s.product_cache_max_entries
    max_bytes: Callable[[Settings], int] = lambda s: s.product_cache_max_bytes


class Caches:
    """The caches of one application (one per process; the tests build several)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._caches: dict[str, LocalCache] = {}
        self.listening = False  # set by the listener while it can hear invalidations

    def __call__(self, spec: CacheSpec) -> LocalCache:
        cache = self._caches.get(spec.name)
        if cache is None:
            s = self.settings
            cache = self._caches[spec.name] = LocalCache(
                spec.name, max_entries=spec.max_entries(s), max_bytes=spec.max_bytes(s),
                ttl=spec.ttl(s), key=spec.key)
            cache.enabled = cache.enabled and self.listening
        return cache

    def __iter__(self):
        return iter(list(self._caches.values()))

    async def invalidate(self, tx: Tx, spec: CacheSpec, key: Hashable) -> None:
        """Drop `key` (every key, for `EVERY_KEY`) here now, here again once `tx` commits,
        and then in every process.

        The second drop here is for a read in this process between the first and the commit:
        it would refill the old value, and the notification that removes it arrives a moment
        after the writer has answered, which must read its own write. (Inside a savepoint
        there is no commit to wait for here: the caller drops again after its own.)
        """
        await notify(tx, spec.name, str(key))
        self(spec).drop(key)
        after_commit(tx, lambda _: self(spec).drop(key))

    def drop(self, spec: CacheSpec, key: Hashable) -> None:
        self(spec).drop(key)

    def received(self, payload: str) -> None:
        name, _, key = payload.partition(":")
        cache = self._caches.get(name)
        if cache is not None:  # none made here yet: nothing held, no fill in flight
            cache.received(key)

    def flush(self, *, listening: bool) -> None:
        self.listening = listening
        for cache in self:
            cache.flush(enabled=listening)

    def observe(self) -> None:
        """Refresh the gauges that describe state rather than count events."""
        now = time.time()
        for cache in self:
            LAST_FLUSH_AGE.labels(cache.name).set(now - cache.flushed_at)
            ENTRIES.labels(cache.name).set(len(cache))
            BYTES.labels(cache.name).set(cache.size)


async def read_through(cache: LocalCache, key: Hashable,
                       load: Callable[[Hashable], Awaitable[tuple[Any, int] | None]], *,
                       coalesce: bool = False) -> Any:
    """The cached value of `key`, or `load(key)`'s (value, size), stored unless dropped
    while it loaded; None when `load` finds nothing (not cached).

    `coalesce=True` (for an expensive load): a miss while a load of the same key is running
    waits for that one instead of starting its own, unless the key was dropped since that
    load began (its value may predate the drop: a writer must read its own write).
    """
    value = cache.get(key)
    if value is not None:
        return value
    if coalesce:
        running = cache.loading.get(key)
        if running is not None and cache.current(key, running[0]):
            await asyncio.wait([running[1]])
            if not running[1].cancelled() and running[1].exception() is None:
                return running[1].result()
            # that load failed or its request went away: try our own
    token = cache.token()
    if not coalesce:
        loaded = await load(key)
    else:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        cache.loading[key] = (token, future)
        try:
            loaded = await load(key)
            future.set_result(None if loaded is None else loaded[0])
        finally:
            if not future.done():
                future.cancel()
            if cache.loading.get(key, (None, None))[1] is future:
                del cache.loading[key]
    if loaded is None:
        return None
    value, size = loaded
    cache.put(key, value, size, token)
    return value
