"""Failed-login throttling, pure: a fixed window of `quota` attempts per (email, address)."""

from __future__ import annotations

import math
from datetime import datetime

from shared.settings import Rate


def retry_after(attempts: int, window_started_at: datetime, now: datetime,
                rate: Rate) -> int | None:
    """Seconds to wait when this attempt is over the budget, else None.

    `attempts` counts this attempt too: it was recorded before the password was checked, so
    concurrent guesses cannot all slip in under the limit.
    """
    if attempts <= rate.quota:
        return None
    elapsed = (now - window_started_at).total_seconds()
    return max(1, math.ceil(rate.window - elapsed))
