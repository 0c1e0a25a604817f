"""A real SMTP server for the notification tests: aiosmtpd on loopback, in this process.

It runs in a thread of its own (aiosmtpd's Controller) on a free port, asks for a login, and
keeps every message it accepts. `stop()` and `start()` again on the same port make an outage.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.fixtures import free_port

USERNAME, PASSWORD = "rampart", "pa55-w0rd-never-shown"


@dataclass(frozen=True)
class Received:
    rcpt_tos: list[str]
    mail_from: str
    message: EmailMessage

    @property
    def text(self) -> str:
        """The plain-text body as written, without the wire's CRLF line ends."""
        return self.message.get_content().replace("\r\n", "\n").strip()


class MailServer:
    def __init__(self, *, implicit_tls: ssl.SSLContext | None = None,
                 starttls: ssl.SSLContext | None = None) -> None:
        self.host, self.port = "127.0.0.1", free_port()
        self.received: list[Received] = []
        self.logins: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._implicit_tls, self._starttls = implicit_tls, starttls
        self._controller: Controller | None = None

    def url(self, *, scheme: str = "smtp", password: str = PASSWORD, query: str = "") -> str:
        return f"{scheme}://{USERNAME}:{password}@{self.host}:{self.port}{query}"

    def start(self) -> None:
        extra: dict[str, Any] = {}
        if self._starttls is not None:
            extra = {"tls_context": self._starttls, "require_starttls": True}
        self._controller = Controller(
            self, hostname=self.host, port=self.port, ssl_context=self._implicit_tls,
            authenticator=self._authenticate, auth_require_tls=self._starttls is not None,
            auth_exclude_mechanism=["CRAM-MD5"], ready_timeout=5, **extra)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def by_message_id(self) -> dict[str, list[Received]]:
        found: dict[str, list[Received]] = {}
        for mail in self.messages():
            found.setdefault(mail.message["Message-ID"], []).append(mail)
        return found

    # aiosmtpd's hooks ------------------------------------------------------------------

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append((login, password))
            if (login, password) == (USERNAME, PASSWORD):
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self._lock:
            self.received.append(Received(list(envelope.rcpt_tos), envelope.mail_from,
                                          message))  # type: ignore[arg-type]
        return "250 OK: queued"


def serving() -> Iterator[MailServer]:
    """A started server, stopped afterwards: the body of a `mail_server` fixture."""
    server = MailServer()
    server.start()
    yield server
    server.stop()


mail_server = pytest.fixture(serving, name="mail_server")
