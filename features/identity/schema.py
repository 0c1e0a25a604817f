"""The user resource as every identity slice returns it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

USER_COLUMNS = "id, email, name, role, created_at"


class User(msgspec.Struct, frozen=True):
    id: UUID
    email: str
    name: str
    role: Literal["customer", "admin"]
    created_at: datetime


class ApiKeyFields(msgspec.Struct, frozen=True):
    """What every answer about an API key shows: enough to recognise it, never its secret."""

    id: UUID
    name: str
    role: Literal["customer", "admin"]
    prefix: str
    created_at: datetime
    expires_at: datetime | None
