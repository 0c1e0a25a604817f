from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from shared.http.schema import Body

KeyName = Annotated[str, Meta(min_length=1, max_length=100)]


class CreateApiKey(Body, frozen=True):
    name: KeyName
    role: Literal["customer", "admin"] | None = None  # default: the caller's own role
    expires_at: Annotated[datetime, Meta(tz=True)] | None = None


class ApiKeyCreated(msgspec.Struct, frozen=True):
    id: UUID
    name: str
    role: Literal["customer", "admin"]
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    secret: str  # shown in this answer only: the database keeps its hash
