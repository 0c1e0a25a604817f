"""The retry schedule, without a database: growing, jittered, capped."""

from __future__ import annotations

import random

from shared.db.backoff import retry_delay


def test_each_attempt_waits_within_its_window() -> None:
    for attempts, (low, high) in enumerate([(0.5, 1), (1, 2), (2, 4), (4, 8)], start=1):
        assert retry_delay(attempts, base=1, cap=60, rand=lambda: 0.0) == low
        assert retry_delay(attempts, base=1, cap=60, rand=lambda: 1.0) == high


def test_delays_never_shrink_from_one_attempt_to_the_next() -> None:
    rng = random.Random(7)
    for _ in range(1000):
        # below the cap: 0.05 * 2**9 = 25.6 s
        delays = [retry_delay(n, base=0.05, cap=30, rand=rng.random) for n in range(1, 11)]
        assert delays == sorted(delays)


def test_jitter_spreads_deliveries_that_failed_together() -> None:
    rng = random.Random(1)
    delays = {round(retry_delay(3, base=1, cap=60, rand=rng.random), 3) for _ in range(100)}
    assert len(delays) > 90


def test_the_cap_bounds_every_delay_even_after_many_attempts() -> None:
    assert retry_delay(10_000, base=1, cap=600, rand=lambda: 1.0) == 600
    assert retry_delay(10_000, base=1, cap=600, rand=lambda: 0.0) == 300


def test_the_first_retry_waits_about_the_base_delay() -> None:
    assert 0.5 <= retry_delay(1, base=1, cap=600) <= 1
    assert retry_delay(0, base=1, cap=600, rand=lambda: 1.0) == 1  # defensive: never below
