"""The notification story over HTTP, with the real relay, Rampart's payment sandbox on loopback
and a real SMTP server (aiosmtpd): an admin made by `rampart users create-admin`; a customer
who registers, orders, is confirmed, pays (a declined card first), and is shipped to; and a
rejected order. Each person's notifications and mails tell their own story, and nobody else's.

Nothing is called behind the app's back: every step is a request (or the CLI), and every
consequence travels through the outbox relay between modules.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any
from uuid import UUID

import httpx
import pytest

from features.notifications.conftest import MailServer, serving
from features.notifications.notify_order_confirmed.logic import order_confirmed
from features.notifications.notify_order_rejected.logic import order_rejected
from features.notifications.notify_order_shipped.logic import order_shipped
from features.notifications.notify_payment_succeeded.logic import payment_succeeded
from features.notifications.schema import Message
from features.notifications.welcome_user.logic import welcome
from tests.fixtures import Api, eventually, make_settings, problem
from tests.payments_sandbox import ROOT, WEBHOOK_SECRET
from tests.test_order_saga import order_body

RELAY = {"relay_enabled": "true", "outbox_poll_ms": 100, "outbox_backoff_base_ms": 50,
         "outbox_backoff_max_ms": 400, "outbox_lease_seconds": 5, "smtp_timeout": 3}
PAYMENTS = {"payment_webhook_secret": WEBHOOK_SECRET, "payment_timeout_ms": 5000,
            "payment_connect_timeout_ms": 1000}
WAIT = 15  # seconds a relayed consequence may take on a loaded 2-core machine

mail_server = pytest.fixture(serving, name="mail_server")


@pytest.fixture
def settings(mail_server: MailServer, sandbox, sandbox_url: str):  # sandbox: reset first
    return make_settings(smtp_url=mail_server.url(), mail_from="Rampart <hi@shop.example>",
                         payment_provider_url=sandbox_url, **PAYMENTS, **RELAY)


async def customer(api: Api, name: str) -> tuple[dict[str, Any], dict[str, str]]:
    user = await api.register(name=name)
    tokens = await api.login(user["email"])
    return user, {"Authorization": f"Bearer {tokens['access_token']}"}


async def create_admin(api: Api, email: str, password: str, name: str) -> dict[str, str]:
    """`rampart users create-admin`, the real command in a process of its own; then log in."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shared", "users", "create-admin", "--email", email,
        "--password", password, "--name", name, cwd=ROOT,
        env={**os.environ, "DATABASE_URL": api.database_url, "LOG_LEVEL": "WARNING"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, output.decode()
    tokens = await api.login(email, password)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def stocked_product(client: httpx.AsyncClient, admin: dict[str, str], units: int) -> str:
    created = await client.post("/v1/products", headers={**admin, "Idempotency-Key": "p"}, json={
        "sku": "TEA-1", "name": "Tea", "price_cents": 123456, "currency": "EUR",
        "category": "tea"})
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]

    async def adjusted() -> bool:  # inventory knows the product once its event arrives
        answer = await client.post(f"/v1/inventory/{product_id}/adjustments", json={
            "delta": units, "reason": "delivery"}, headers={**admin, "Idempotency-Key": "a"})
        return answer.status_code == 201

    await eventually(adjusted, timeout=WAIT)
    return product_id


async def place(client: httpx.AsyncClient, headers: dict[str, str], product_id: str,
                quantity: int, key: str) -> dict[str, Any]:
    """An order, placed as soon as ordering knows the product's price (from its event)."""

    async def placed() -> dict[str, Any] | None:
        answer = await client.post("/v1/orders", json=order_body((product_id, quantity)),
                                   headers={**headers, "Idempotency-Key": key})
        return answer.json() if answer.status_code == 201 else None

    return await eventually(placed, timeout=WAIT)


async def reaches(client: httpx.AsyncClient, headers: dict[str, str], order_id: str,
                  status: str) -> None:
    async def there() -> bool:
        answer = await client.get(f"/v1/orders/{order_id}", headers=headers)
        return answer.json()["status"] == status

    await eventually(there, timeout=WAIT)


async def pay_once_known(client: httpx.AsyncClient, headers: dict[str, str], order_id: str,
                         method: str) -> httpx.Response:
    """Pay as soon as payments has heard the order is confirmed (its own OrderConfirmed lane):
    until then it answers 404 (no such order yet) or 409 (still pending). A 409 is kept for its
    Idempotency-Key, so every try has a key of its own."""
    tries = iter(range(1_000_000))

    async def answered() -> httpx.Response | None:
        answer = await client.post(
            f"/v1/orders/{order_id}/payments", json={"payment_method": method},
            headers={**headers, "Idempotency-Key": f"pay-{order_id}-{next(tries)}"})
        return None if answer.status_code in (404, 409) else answer

    return await eventually(answered, timeout=WAIT)


def told(items: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(i["kind"], i["subject"], i["body"]) for i in items]


async def notifications(client: httpx.AsyncClient, headers: dict[str, str],
                        *expected: tuple[str, Message]) -> list[dict[str, Any]]:
    """Wait until the caller's notifications are exactly `expected` (newest first); then
    return them. On a mismatch the last page read is what the assertion shows."""
    want = [(kind, m.subject, m.body) for kind, m in expected]
    items: list[dict[str, Any]] = []

    async def listed() -> bool:
        nonlocal items
        answer = await client.get("/v1/notifications", headers=headers)
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        return told(items) == want

    try:
        await eventually(listed, timeout=WAIT)
    except AssertionError:
        assert told(items) == want
    return items


async def test_register_order_confirm_pay_ship_told_in_the_app_and_by_mail(
        client, api, mail_server, sandbox) -> None:
    admin = await create_admin(api, "root@shop.example", "admin password 1", "Root")
    ada, headers = await customer(api, "Ada")
    bob, bob_headers = await customer(api, "Bob")
    product_id = await stocked_product(client, admin, units=3)
    hello = ("welcome", welcome("Ada", ada["email"]))
    # Each kind of notification is its own lane of the relay: the story waits for each one
    # before the next step, so newest first is the story's order.
    await notifications(client, headers, hello)

    order = await place(client, headers, product_id, 2, "o-1")
    order_id = order["id"]
    assert (order["status"], order["total_cents"], order["currency"]) == ("pending", 246912,
                                                                          "EUR")
    await reaches(client, headers, order_id, "confirmed")  # inventory reserved both units
    confirmed = ("order_confirmed", order_confirmed(UUID(order_id), 246912, "EUR"))
    await notifications(client, headers, confirmed, hello)

    # A declined card is answered 402 and tells nobody anything; another card pays.
    declined = await pay_once_known(client, headers, order_id, "pm_card_chargeDeclined")
    assert problem(declined, 402, "payment-declined")["decline_code"] == "card_declined"
    paid = await client.post(f"/v1/orders/{order_id}/payments",
                             json={"payment_method": "pm_card_visa"},
                             headers={**headers, "Idempotency-Key": "visa"})
    assert paid.status_code == 201, paid.text
    payment = paid.json()
    assert (payment["status"], payment["amount_cents"]) == ("succeeded", 246912)
    assert sorted((c["status"], c["amount"]) for c in await sandbox.charges()) == [
        ("failed", 246912), ("succeeded", 246912)]  # the provider's own record: charged once
    await reaches(client, headers, order_id, "paid")  # PaymentSucceeded reached ordering
    receipt = ("payment_succeeded",
               payment_succeeded(UUID(order_id), UUID(payment["id"]), 246912, "EUR"))
    await notifications(client, headers, receipt, confirmed, hello)

    shipped = await client.post(f"/v1/orders/{order_id}/ship", headers=admin)
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped", shipped.text
    items = await notifications(client, headers,
                                ("order_shipped", order_shipped(UUID(order_id), [2])),
                                receipt, confirmed, hello)
    assert "EUR 2,469.12" in items[1]["body"] and "EUR 2,469.12" in items[2]["body"]

    # Bob and the admin were only welcomed; neither sees a word of Ada's story.
    [bob_welcome] = await notifications(client, bob_headers, ("welcome", welcome("Bob",
                                                                               bob["email"])))
    [root_welcome] = await notifications(client, admin, ("welcome", welcome(
        "Root", "root@shop.example")))

    # Every notification is mailed once to its own person, under a Message-ID made from its id.
    sent = {f"<{i['id']}@shop.example>": (i, "Ada", ada["email"]) for i in items}
    sent[f"<{bob_welcome['id']}@shop.example>"] = (bob_welcome, "Bob", bob["email"])
    sent[f"<{root_welcome['id']}@shop.example>"] = (root_welcome, "Root", "root@shop.example")

    async def mailed() -> dict[str, list] | None:
        found = mail_server.by_message_id()
        return found if set(sent) <= set(found) else None

    by_id = await eventually(mailed, timeout=WAIT)
    assert set(by_id) == set(sent)  # no mail about anything else (the decline included)
    for message_id, (item, name, address) in sent.items():
        [mail] = by_id[message_id]
        assert mail.rcpt_tos == [address] and mail.message["To"] == f"{name} <{address}>"
        assert mail.message["From"] == "Rampart <hi@shop.example>"
        assert mail.message["Subject"] == item["subject"] and mail.text == item["body"]


async def test_an_order_without_stock_is_told_as_rejected(client, api, mail_server) -> None:
    cy, headers = await customer(api, "Cy")
    hello = ("welcome", welcome("Cy", cy["email"]))
    await notifications(client, headers, hello)  # two lanes: welcomed first, then the order
    product_id = await stocked_product(client, await api.admin_headers(), units=1)
    order = await place(client, headers, product_id, 5, "o-big")
    await reaches(client, headers, order["id"], "rejected")
    rejected, _ = await notifications(client, headers, ("order_rejected", order_rejected(
        UUID(order["id"]), "insufficient_stock")), hello)
    assert "not in stock" in rejected["body"]

    async def mail() -> list | None:
        return mail_server.by_message_id().get(f"<{rejected['id']}@shop.example>")

    [received] = await eventually(mail, timeout=WAIT)
    assert received.rcpt_tos == [cy["email"]] and received.text == rejected["body"]
    assert received.message["Subject"] == "Your order could not be accepted"
