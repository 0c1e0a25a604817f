from __future__ import annotations

from datetime import datetime

from features.identity.schema import ApiKeyFields


class ApiKey(ApiKeyFields, frozen=True):
    """A key as lists show it."""

    last_used_at: datetime | None
