"""How long a client may keep the category counts: pure, no I/O."""

from __future__ import annotations

import math


def max_age(ttl: float, age: float | None) -> int:
    """What is left of the TTL for counts computed `age` seconds ago (None: just now), so
    that a client's copy is never older than the TTL either."""
    return max(0, math.floor(ttl - (age or 0.0)))
