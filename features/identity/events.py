"""Events the identity module publishes: its public contract with other modules."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from shared.db.events import Event


class UserRegistered(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "user_id"
    user_id: UUID
    email: str
    name: str
