"""send_email: each notification is mailed over real SMTP (aiosmtpd on loopback), retried
through the outbox when the server is away, and never with the password in sight."""

from __future__ import annotations

import asyncio
import io
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import msgspec
import pytest
import trustme
from uuid_utils.compat import uuid7

from features.notifications.conftest import PASSWORD, USERNAME, MailServer
from features.notifications.send_email import logic, smtp
from features.notifications.send_email.handler import (
    NotificationCreated,
    RecipientUnknown,
    send_email,
    subscription,
)
from features.notifications.testing import (
    announced,
    deliveries,
    handle,
    notifications,
)
from features.notifications.welcome_user.handler import UserRegistered, welcome_user
from shared.logging import configure_logging
from shared.settings import SmtpServer
from tests.fixtures import (
    eventually,
    failed_delivery,
    free_port,
    make_settings,
    store_event,
)

RELAY = {"relay_enabled": "true", "outbox_poll_ms": 100, "outbox_backoff_base_ms": 50,
         "outbox_backoff_max_ms": 400, "outbox_lease_seconds": 5, "smtp_timeout": 3}


def outgoing(**fields) -> logic.Outgoing:
    return logic.Outgoing(**{"id": uuid7(), "subject": "Your order has shipped",
                             "body": "Order 1 has left the warehouse.",
                             "created_at": datetime(2026, 12, 2, 21, 0, 5, 123456, tzinfo=UTC),
                             "email": "ada@example.com", "name": "Ada Lovelace"} | fields)


async def welcomed(db_conn, email: str = "ada@example.com", name: str = "Ada") -> dict:
    """A registered user's welcome, as welcome_user wrote it: (notification id, user id)."""
    user_id = uuid7()
    await handle(db_conn, welcome_user, UserRegistered(user_id=user_id, email=email, name=name))
    [row] = await notifications(db_conn, user_id)
    return row


async def send(db_conn, notification_id, settings) -> None:
    async with db_conn.transaction():
        await send_email(NotificationCreated(notification_id=notification_id), db_conn, settings)


# The message, pure ---------------------------------------------------------------------------

def test_the_message_carries_a_message_id_made_from_the_notification_id() -> None:
    mail = outgoing()
    message = logic.email(mail, mail_from="Rampart <no-reply@shop.example>")
    assert message["Message-ID"] == f"<{mail.id}@shop.example>"
    assert message["From"] == "Rampart <no-reply@shop.example>"
    assert message["To"] == "Ada Lovelace <ada@example.com>"
    assert message["Subject"] == "Your order has shipped"
    assert parsedate_to_datetime(message["Date"]) == mail.created_at.replace(microsecond=0)
    assert message.get_content() == "Order 1 has left the warehouse.\n"


def test_every_retry_builds_the_very_same_bytes() -> None:
    mail = outgoing()
    first = logic.email(mail, mail_from="a@b.example").as_bytes()
    assert logic.email(mail, mail_from="a@b.example").as_bytes() == first


def test_a_name_with_line_breaks_stays_one_header_line() -> None:
    message = logic.email(outgoing(name="Ada\r\nBcc: eve@example.com"), mail_from="a@b.example")
    assert message["To"] == '"Ada Bcc: eve@example.com" <ada@example.com>'
    assert "Bcc" not in message


def test_non_ascii_text_is_encoded_not_mangled() -> None:
    message = logic.email(outgoing(name="Zoë Ørsted", subject="Bestätigt ✓", body="Grüße"),
                          mail_from="a@b.example")
    assert "=?utf-8?" in message.as_string()
    assert message["Subject"] == "Bestätigt ✓" and message.get_content() == "Grüße\n"


# The handler, on the real database and a real SMTP server ---------------------------------

async def test_a_notification_is_mailed_to_its_recipient(db_conn, mail_server) -> None:
    row = await welcomed(db_conn, "ada@example.com", "Ada")
    settings = make_settings(smtp_url=mail_server.url(), mail_from="Rampart <hi@shop.example>")
    await send(db_conn, row["id"], settings)
    [mail] = mail_server.messages()
    assert mail.rcpt_tos == ["ada@example.com"] and mail.mail_from == "hi@shop.example"
    assert mail.message["To"] == "Ada <ada@example.com>"
    assert mail.message["Subject"] == row["subject"] == "Welcome to Rampart"
    assert mail.text == row["body"]
    assert mail.message["Message-ID"] == f"<{row['id']}@shop.example>"
    assert mail_server.logins == [(USERNAME, PASSWORD)]


async def test_without_smtp_url_nothing_is_sent(db_conn, mail_server) -> None:
    row = await welcomed(db_conn)
    await send(db_conn, row["id"], make_settings())
    assert mail_server.messages() == []


def test_its_deliveries_share_a_transaction_only_while_mail_is_off(mail_server) -> None:
    # A group-mate's failure reruns the whole group: with mail on, that would send it again.
    assert subscription.shares(make_settings(smtp_url=mail_server.url())) is False
    assert subscription.shares(make_settings()) is True  # mail off: the handler does nothing


async def test_an_unknown_recipient_fails_so_that_it_is_retried(db_conn, mail_server) -> None:
    user_id, notification_id = uuid7(), uuid7()
    await db_conn.execute(
        "INSERT INTO notifications.notifications (id, user_id, kind, source_id, subject, body,"
        " created_at) VALUES (%s, %s, 'order_shipped', %s, 'S', 'B', now())",
        (notification_id, user_id, uuid7()))
    settings = make_settings(smtp_url=mail_server.url())
    with pytest.raises(RecipientUnknown):
        await send(db_conn, notification_id, settings)
    await db_conn.execute("INSERT INTO notifications.recipients VALUES (%s, 'z@example.com',"
                          " 'Z', now())", (user_id,))  # UserRegistered arrived meanwhile
    await send(db_conn, notification_id, settings)
    assert [m.rcpt_tos for m in mail_server.messages()] == [["z@example.com"]]


async def test_a_wrong_password_fails_without_naming_it(db_conn, mail_server) -> None:
    row = await welcomed(db_conn)
    settings = make_settings(smtp_url=mail_server.url(password="Wr0ng-s3cret"))
    with pytest.raises(smtp.MailNotSent) as caught:
        await send(db_conn, row["id"], settings)
    assert str(caught.value).startswith(f"127.0.0.1:{mail_server.port}: SMTPAuthentication")
    assert "Wr0ng-s3cret" not in str(caught.value) and caught.value.__cause__ is None
    assert mail_server.messages() == []


async def test_a_server_with_no_login_is_used_without_one(db_conn) -> None:
    server = MailServer()
    server.start()
    try:
        await smtp.send(SmtpServer(host=server.host, port=server.port),
                        logic.email(outgoing(), mail_from="a@b.example"), timeout=5)
    finally:
        server.stop()
    assert len(server.messages()) == 1 and server.logins == []


# TLS: implicit (smtps://) and upgraded (?starttls=true), against a certificate the test trusts

@pytest.fixture
def ca(tmp_path, monkeypatch) -> trustme.CA:
    authority = trustme.CA()
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))  # what ssl.create_default_context trusts
    return authority


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.mark.parametrize(("kind", "scheme", "query"), [("implicit_tls", "smtps", ""),
                                                       ("starttls", "smtp", "?starttls=true")])
async def test_mail_goes_over_tls_when_asked(ca, kind, scheme, query) -> None:
    server = MailServer(**{kind: server_context(ca)})
    server.start()
    try:
        target = SmtpServer.parse(server.url(scheme=scheme, query=query))
        await smtp.send(target, logic.email(outgoing(), mail_from="a@b.example"), timeout=5)
    finally:
        server.stop()
    assert len(server.messages()) == 1 and server.logins == [(USERNAME, PASSWORD)]


async def test_a_certificate_nobody_vouches_for_is_refused(ca, monkeypatch) -> None:
    server = MailServer(implicit_tls=server_context(ca))
    server.start()
    monkeypatch.delenv("SSL_CERT_FILE")
    try:
        with pytest.raises(smtp.MailNotSent, match="CERTIFICATE_VERIFY_FAILED"):
            await smtp.send(SmtpServer.parse(server.url(scheme="smtps")),
                            logic.email(outgoing(), mail_from="a@b.example"), timeout=5)
    finally:
        server.stop()
    assert server.messages() == []


# Through the relay ---------------------------------------------------------------------------

async def user_headers(api, **register) -> tuple[dict, dict[str, str]]:
    user = await api.register(**register)
    tokens = await api.login(user["email"])
    return user, {"Authorization": f"Bearer {tokens['access_token']}"}


class TestThroughTheRelay:
    @pytest.fixture
    def settings(self, mail_server):
        return make_settings(smtp_url=mail_server.url(), mail_from="Rampart <hi@shop.example>",
                             **RELAY)

    async def test_registering_mails_the_welcome_with_the_listed_id(self, client, api,
                                                                    mail_server) -> None:
        user, headers = await user_headers(api, name="Ada")
        [mail] = await eventually(mail_server.messages)
        [item] = (await client.get("/v1/notifications", headers=headers)).json()["items"]
        assert mail.rcpt_tos == [user["email"]]
        assert mail.message["Message-ID"] == f"<{item['id']}@shop.example>"
        assert mail.message["Subject"] == item["subject"]
        assert mail.text == item["body"]

    async def test_an_smtp_outage_loses_nothing(self, client, api, db_conn, mail_server) -> None:
        mail_server.stop()
        users = [await api.register() for _ in range(3)]

        async def all_failed() -> bool:
            sends = await deliveries(db_conn, subscription.name)
            return len(sends) == 3 and all(d["last_error"] for d in sends)

        await eventually(all_failed)
        # The in-app notifications did not wait for the mail server.
        assert {n["kind"] for n in await notifications(db_conn)} == {"welcome"}
        assert len(await notifications(db_conn)) == 3
        mail_server.start()

        async def delivered() -> bool:
            return len(mail_server.messages()) >= 3 and all(
                d["state"] == "done" for d in await deliveries(db_conn, subscription.name))

        await eventually(delivered, timeout=10)
        by_id = mail_server.by_message_id()
        assert sorted(m[0].rcpt_tos[0] for m in by_id.values()) == sorted(
            u["email"] for u in users)
        assert all(len(copies) == 1 for copies in by_id.values())  # no crash, no duplicate
        assert len(await announced(db_conn)) == 3

    async def test_a_redelivered_event_sends_no_second_mail(self, client, api, db_conn,
                                                            mail_server) -> None:
        user, _ = await user_headers(api)
        await eventually(mail_server.messages)
        # identity's event delivered again, much later: no new row, no new mail.
        again = UserRegistered(user_id=user["id"], email=user["email"], name=user["name"])
        await handle(db_conn, welcome_user, again)
        await eventually(lambda: _all_done(db_conn))
        assert len(mail_server.messages()) == 1 and len(await announced(db_conn)) == 1


async def _all_done(db_conn) -> bool:
    row = await (await db_conn.execute("SELECT count(*) FILTER (WHERE state <> 'done') AS n"
                                       " FROM kernel.outbox_deliveries")).fetchone()
    return row["n"] == 0


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word (a hung SMTP server)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


class TestASilentServer:
    @pytest.fixture
    def settings(self, silent_server):
        return make_settings(smtp_url=f"smtp://{USERNAME}:{PASSWORD}@127.0.0.1:{silent_server}",
                             **RELAY | {"smtp_timeout": 1})

    async def test_it_hits_the_timeout_and_the_relay_goes_on(self, client, api,
                                                             db_conn) -> None:
        await api.register()
        [send] = await eventually(lambda: deliveries(db_conn, subscription.name))
        failed = await failed_delivery(db_conn, send["event_id"])
        assert failed["last_error"].endswith(": no answer within 1 s") and (
            failed["state"] == "pending")
        # Meanwhile the relay keeps delivering: another registration is welcomed in the app...
        _, headers = await user_headers(api)

        async def listed():
            return (await client.get("/v1/notifications", headers=headers)).json()["items"]

        assert [i["kind"] for i in await eventually(listed)] == ["welcome"]
        # ...and the hung mail is tried again, not waited for.
        await eventually(lambda: _attempts_at_least(db_conn, send["event_id"], 2))


async def _attempts_at_least(db_conn, event_id, n: int) -> bool:
    row = await (await db_conn.execute("SELECT attempts FROM kernel.outbox_deliveries"
                                       " WHERE event_id = %s", (event_id,))).fetchone()
    return row["attempts"] >= n


class TestAServerThatStaysAway:
    @pytest.fixture
    def settings(self):
        return make_settings(smtp_url=f"smtp://{USERNAME}:{PASSWORD}@127.0.0.1:{free_port()}",
                             outbox_max_attempts=2, **RELAY)

    async def test_the_mail_becomes_a_dead_letter_and_the_password_shows_nowhere(
            self, client, api, db_conn) -> None:
        log = io.StringIO()
        configure_logging("INFO", stream=log)
        try:
            admin = await api.admin_headers()  # registers the admin: one welcome to mail

            async def dead():
                page = (await client.get("/v1/admin/outbox/dead-letters", headers=admin)).json()
                return page["items"]

            [letter] = await eventually(dead)
        finally:
            configure_logging("WARNING")
        assert letter["subscriber"] == subscription.name and letter["attempts"] == 2
        assert letter["last_error"].startswith("MailNotSent: 127.0.0.1:")
        # The in-app notification is there all the same.
        assert [n["kind"] for n in await notifications(db_conn)] == ["welcome"]
        metrics = (await client.get("/metrics")).text
        assert 'subscriber="notifications.send_email"' in metrics
        assert "outbox_delivery_failed" in log.getvalue()
        for seen in (str(letter), metrics, log.getvalue()):
            assert PASSWORD not in seen


def test_the_malformed_event_of_a_mail_does_not_decode() -> None:
    for payload in (b'{"notification_id": 7}', b'{}', b'{"notification_id": null}'):
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(payload, type=subscription.payload_type)


class TestAMalformedEvent:
    @pytest.fixture
    def settings(self, mail_server):
        return make_settings(smtp_url=mail_server.url(), **RELAY)

    async def test_it_fails_its_delivery_and_sends_nothing(self, client, db_conn,
                                                          mail_server) -> None:
        event_id = await store_event(db_conn, "NotificationCreated", '{"notification_id": "x"}',
                                subscription.name)
        failed = await failed_delivery(db_conn, event_id)
        assert failed["last_error"].startswith("ValidationError: Invalid UUID")
        assert mail_server.messages() == []
