"""On NotificationCreated (notifications' own event): mail the notification to its recipient.

This subscription is separate from the ones that write notifications, so an SMTP outage never
delays a row: the write commits, and only this delivery waits and retries with the outbox's
backoff, becoming a dead letter after OUTBOX_MAX_ATTEMPTS. The event is committed with the
row, so the row is always there to read. Delivery is at least once: a crash after the server
took the mail but before the delivery is marked done sends it again, with the same
Message-ID.

It talks to a server outside the database, so it never shares a transaction with other
deliveries (a group-mate's failure would send the mail again); with mail off it does nothing
at all, so then it may, and the relay spends no commit of its own on each.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.notifications.send_email import logic, smtp, sql
from shared.db import Tx
from shared.modules import Subscription
from shared.settings import Settings


class NotificationCreated(msgspec.Struct, frozen=True):
    notification_id: UUID


class RecipientUnknown(Exception):
    """No UserRegistered has told us this user's address (yet): retried like a failed send."""


async def send_email(event: NotificationCreated, tx: Tx, settings: Settings) -> None:
    server = settings.smtp
    if server is None:  # mail is off: the notification is in the app only
        return
    row = await sql.outgoing(tx, event.notification_id)
    if row is None:  # the row commits with its event; gone means deleted by hand since
        return
    if row["email"] is None:
        raise RecipientUnknown(f"no address known for notification {event.notification_id}")
    message = logic.email(msgspec.convert(row, logic.Outgoing), mail_from=settings.mail_from)
    await smtp.send(server, message, timeout=settings.smtp_timeout)


def _mail_is_off(settings: Settings) -> bool:
    return settings.smtp is None


subscription = Subscription(event_type="NotificationCreated", name="notifications.send_email",
                            payload_type=NotificationCreated, handler=send_email,
                            needs_settings=True, shares_transaction=_mail_is_off)
