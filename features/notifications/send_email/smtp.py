"""One SMTP conversation with aiosmtplib: connect, (TLS), (log in), send, quit.

The whole conversation gets one deadline, not only each command: a server that accepts the
connection and then says nothing fails the delivery instead of holding the relay. Errors are
re-raised as MailNotSent, whose text is what the relay logs and stores as the delivery's
`last_error`: it names the server and what went wrong, never the password.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import aiosmtplib

from shared.settings import SmtpServer


class MailNotSent(Exception):
    """The SMTP server did not take the message; the outbox retries the delivery."""


async def send(server: SmtpServer, message: EmailMessage, *, timeout: float) -> None:
    try:
        async with asyncio.timeout(timeout):
            await aiosmtplib.send(
                message, hostname=server.host, port=server.port, username=server.username,
                password=server.password, use_tls=server.implicit_tls,
                start_tls=server.starttls, timeout=timeout)
    except (TimeoutError, OSError, aiosmtplib.SMTPException) as exc:
        # `from None`: the cause's own text is in the message, scrubbed, and nowhere else.
        raise MailNotSent(f"{server.host}:{server.port}: {_told(exc, server, timeout)}") from None


def _told(exc: Exception, server: SmtpServer, timeout: float) -> str:
    if isinstance(exc, TimeoutError) and not isinstance(exc, aiosmtplib.SMTPException):
        return f"no answer within {timeout:g} s"
    text = f"{type(exc).__name__}: {exc}"
    return text.replace(server.password, "***") if server.password else text
