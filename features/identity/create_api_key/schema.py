from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta

from features.identity.schema import ApiKeyFields
from shared.http.schema import SAYS_SOMETHING, Body

KeyName = Annotated[str, Meta(min_length=1, max_length=100, extra_json_schema=SAYS_SOMETHING)]


class CreateApiKey(Body, frozen=True):
    name: KeyName
    role: Literal["customer", "admin"] | None = None  # default: the caller's own role
    expires_at: Annotated[datetime, Meta(tz=True)] | None = None


class ApiKeyCreated(ApiKeyFields, frozen=True):
    secret: str  # shown in this answer only: the database keeps its hash
