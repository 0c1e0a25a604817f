"""When a failed delivery is tried again: exponential backoff with jitter. Pure, no I/O."""

from __future__ import annotations

import random
from collections.abc import Callable


def retry_delay(attempts: int, *, base: float, cap: float,
                rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the `attempts`-th failed attempt (1 for the first).

    The window for attempt n is [d/2, d] with d = min(cap, base * 2**(n-1)) ("equal jitter"):
    successive windows touch but never overlap, so the delays keep growing until the cap,
    while deliveries that failed together (a database blip) spread out instead of retrying
    in lockstep.
    """
    ceiling = min(cap, base * 2.0 ** min(max(attempts, 1) - 1, 62))
    return ceiling / 2 + rand() * ceiling / 2
