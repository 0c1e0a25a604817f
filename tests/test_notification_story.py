"""The notification story over HTTP, with the real relay and a real SMTP server (aiosmtpd):
register, order, confirmed, paid, shipped; and a rejected order. The caller's notifications
and mails tell that story, and nobody else's.

Payments is its own module and not here yet: `pay()` does to ordering what its
PaymentSucceeded delivery does. When payments lands, the story pays over
`POST /v1/orders/{id}/payments` and expects a `payment_succeeded` notification too.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from features.notifications.conftest import MailServer, serving
from tests.fixtures import Api, bearer, eventually, make_settings
from tests.test_order_saga import order_body, pay

RELAY = {"relay_enabled": "true", "outbox_poll_ms": 100, "outbox_backoff_base_ms": 50,
         "outbox_backoff_max_ms": 400, "outbox_lease_seconds": 5, "smtp_timeout": 3}


mail_server = pytest.fixture(serving, name="mail_server")


@pytest.fixture
def settings(mail_server: MailServer):
    return make_settings(smtp_url=mail_server.url(), mail_from="Rampart <hi@shop.example>",
                         **RELAY)


async def customer(api: Api, name: str) -> tuple[dict[str, Any], dict[str, str]]:
    user = await api.register(name=name)
    tokens = await api.login(user["email"])
    return user, {"Authorization": f"Bearer {tokens['access_token']}"}


async def stocked_product(app, client: httpx.AsyncClient, units: int) -> str:
    admin = bearer(app)
    created = await client.post("/v1/products", headers={**admin, "Idempotency-Key": "p"}, json={
        "sku": "TEA-1", "name": "Tea", "price_cents": 123456, "currency": "EUR",
        "category": "tea"})
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]

    async def adjusted() -> bool:  # inventory knows the product once its event arrives
        answer = await client.post(f"/v1/inventory/{product_id}/adjustments", json={
            "delta": units, "reason": "delivery"}, headers={**admin, "Idempotency-Key": "a"})
        return answer.status_code == 201

    await eventually(adjusted)
    return product_id


async def place(client: httpx.AsyncClient, headers: dict[str, str], product_id: str,
                quantity: int, key: str) -> dict[str, Any]:
    """An order, placed as soon as ordering knows the product's price (from its event)."""

    async def placed() -> dict[str, Any] | None:
        answer = await client.post("/v1/orders", json=order_body((product_id, quantity)),
                                   headers={**headers, "Idempotency-Key": key})
        return answer.json() if answer.status_code == 201 else None

    return await eventually(placed)


async def kinds(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> list[dict]:
    async def listed() -> list[dict] | None:
        items = (await client.get("/v1/notifications", headers=headers)).json()["items"]
        return items if len(items) >= n else None

    return await eventually(listed, timeout=10)


async def test_register_order_confirmed_paid_shipped(app, client, api, database_url,
                                                     mail_server) -> None:
    ada, headers = await customer(api, "Ada")
    bob, bob_headers = await customer(api, "Bob")
    product_id = await stocked_product(app, client, units=3)

    order = await place(client, headers, product_id, 2, "o-1")
    order_id = order["id"]
    await kinds(client, headers, 2)  # welcome, order_confirmed
    await pay(database_url, order_id)
    shipped = await client.post(f"/v1/orders/{order_id}/ship", headers=bearer(app))
    assert shipped.status_code == 200, shipped.text

    items = await kinds(client, headers, 3)
    assert [i["kind"] for i in items] == ["order_shipped", "order_confirmed", "welcome"]
    shipped_note, confirmed_note, welcome_note = items
    assert "EUR 2,469.12" in confirmed_note["body"] and order_id in confirmed_note["body"]
    assert "its 2 items" in shipped_note["body"] and order_id in shipped_note["body"]
    assert welcome_note["body"].startswith("Hello Ada,")

    # Every notification is mailed to Ada once, under a Message-ID made from its id.
    async def mailed() -> dict | None:
        found = mail_server.by_message_id()
        return found if len(found) >= 4 else None  # Ada's three and Bob's welcome

    by_id = await eventually(mailed, timeout=10)
    for item in items:
        [mail] = by_id[f"<{item['id']}@shop.example>"]
        assert mail.rcpt_tos == [ada["email"]] and mail.message["Subject"] == item["subject"]
        assert mail.text == item["body"]

    # Bob hears only his own welcome.
    assert [i["kind"] for i in (await client.get("/v1/notifications",
                                                 headers=bob_headers)).json()["items"]] == [
        "welcome"]
    assert sorted(m[0].rcpt_tos[0] for m in by_id.values()) == sorted(
        [ada["email"]] * 3 + [bob["email"]])


async def test_an_order_without_stock_is_told_as_rejected(app, client, api, mail_server) -> None:
    _, headers = await customer(api, "Cy")
    product_id = await stocked_product(app, client, units=1)
    order = await place(client, headers, product_id, 5, "o-big")
    rejected, _ = await kinds(client, headers, 2)
    assert rejected["kind"] == "order_rejected" and order["id"] in rejected["body"]
    assert "not in stock" in rejected["body"]

    async def mailed() -> list | None:
        return mail_server.by_message_id().get(f"<{rejected['id']}@shop.example>")

    [mail] = await eventually(mailed, timeout=10)
    assert mail.message["Subject"] == "Your order could not be accepted"
