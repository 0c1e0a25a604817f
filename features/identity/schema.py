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
