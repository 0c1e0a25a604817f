"""Failed-login throttling, pure: fixed windows of failures, and attempts in flight.

Per (e-mail, client address) at most `quota` attempts are ever judged in a window: those that
failed plus those whose password is still being checked. An attempt that would go past that
while others are in flight waits for them (a right password is then judged, not refused);
once `quota` attempts have failed, every attempt is refused until the window ends. Per client
address, whatever the e-mail, only failures count, against a wider quota.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.settings import Rate


@dataclass(frozen=True)
class Counts:
    failures: int
    window_started_at: datetime
    in_flight: int
    in_flight_until: datetime | None


def current(counts: Counts, now: datetime, rate: Rate) -> Counts:
    """The counts as they stand at `now`: an ended window forgets its failures, lapsed
    reservations (a server that died mid-check) are forgotten too."""
    failures, started = counts.failures, counts.window_started_at
    if (now - started).total_seconds() >= rate.window:
        failures, started = 0, now
    live = counts.in_flight_until is not None and counts.in_flight_until > now
    return Counts(failures, started, counts.in_flight if live else 0, counts.in_flight_until)


def admit(counts: Counts, now: datetime, rate: Rate) -> Literal["go", "wait"] | int:
    """"go" (check the password), "wait" (attempts in flight may use up the budget: ask
    again when they are judged), or the seconds to wait before the window lets any in."""
    counts = current(counts, now, rate)
    if counts.failures >= rate.quota:
        return retry_after(counts.window_started_at, now, rate)
    if counts.failures + counts.in_flight >= rate.quota:
        return "wait"
    return "go"


def retry_after(window_started_at: datetime, now: datetime, rate: Rate) -> int:
    elapsed = (now - window_started_at).total_seconds()
    return max(1, math.ceil(rate.window - elapsed))
