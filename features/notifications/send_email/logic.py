"""The e-mail of a notification: pure, so that every retry builds the very same message."""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from uuid import UUID

import msgspec


class Outgoing(msgspec.Struct, frozen=True):
    id: UUID
    subject: str
    body: str
    created_at: datetime
    email: str
    name: str


def message_id(notification_id: UUID, mail_from: str) -> str:
    """Stable per notification: a mail sent twice (a crash between sending it and recording
    that it was sent) carries one Message-ID, and mail clients show it once."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2]
    return f"<{notification_id}@{domain}>"


def email(outgoing: Outgoing, *, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    # A display name is one line in a header: any run of whitespace becomes one space.
    message["To"] = Address(display_name=" ".join(outgoing.name.split()),
                            addr_spec=outgoing.email)
    message["Subject"] = outgoing.subject
    message["Date"] = format_datetime(outgoing.created_at)
    message["Message-ID"] = message_id(outgoing.id, mail_from)
    message.set_content(outgoing.body)
    return message
