"""On UserRegistered (from identity): the user becomes a recipient and is welcomed.

Notifications never reads identity's tables: this event is how it learns a user's address.
Both writes happen in one transaction, so the welcome mail's sender always finds the address.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.notifications.record import record
from features.notifications.welcome_user import logic, sql
from shared.db import Tx
from shared.modules import Subscription


class UserRegistered(msgspec.Struct, frozen=True):
    user_id: UUID
    email: str
    name: str


async def welcome_user(event: UserRegistered, tx: Tx) -> None:
    await sql.insert_recipient(tx, event.user_id, event.email, event.name)
    await record(tx, user_id=event.user_id, kind="welcome", source_id=event.user_id,
                 message=logic.welcome(event.name, event.email))


# Short writes only: it may share a transaction (its NotificationCreated travels with the
# group's commit).
subscription = Subscription(event_type="UserRegistered", name="notifications.welcome_user",
                            payload_type=UserRegistered, handler=welcome_user,
                            shares_transaction=True)
