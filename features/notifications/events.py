"""Events the notifications module publishes: its public contract with other modules.

NotificationCreated is committed with the notification's row, so a subscriber that reads the
row (notifications' own e-mail sender) always finds it.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from shared.db.events import Event


class NotificationCreated(Event, frozen=True, kw_only=True):
    # Each notification is its own lane: a mail that keeps failing holds back no other mail.
    aggregate: ClassVar[str] = "notification_id"
    notification_id: UUID
    user_id: UUID
    kind: str
