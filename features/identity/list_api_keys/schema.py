from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec


class ApiKey(msgspec.Struct, frozen=True):
    """A key as lists show it: enough to recognise it, never its secret."""

    id: UUID
    name: str
    role: Literal["customer", "admin"]
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
