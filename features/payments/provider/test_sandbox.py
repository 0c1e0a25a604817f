"""The sandbox's own behaviour: the test payment methods, one charge per key, and the signed
webhooks it POSTs over a real socket."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from features.payments import signature
from features.payments.provider.sandbox import Sandbox

SECRET = "whsec_sandbox_test_0123"


@pytest.mark.parametrize(("method", "status", "code"), [
    ("pm_card_visa", "succeeded", None),
    ("pm_card_chargeDeclined", "failed", "card_declined"),
    ("pm_card_chargeDeclinedInsufficientFunds", "failed", "insufficient_funds"),
    ("pm_card_async", "pending", None),
    ("pm_card_unknown", "failed", "invalid_payment_method"),
])
async def test_the_test_payment_methods(method, status, code) -> None:
    sandbox = Sandbox(SECRET)
    charge = await sandbox.charge("k", 100, "EUR", method, {})
    assert (charge.status, charge.failure_code) == (status, code)
    again = await sandbox.charge("k", 100, "EUR", "pm_card_visa", {})
    assert again is charge and len(sandbox.charges) == 1


async def test_webhooks_are_signed_and_posted() -> None:
    received: asyncio.Queue[tuple[dict[str, str], bytes]] = asyncio.Queue()

    async def receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
        body = await reader.readexactly(int(headers["content-length"]))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
        await received.put((headers, body))

    server = await asyncio.start_server(receive, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sandbox = Sandbox(SECRET)
    sandbox.behaviour.webhook_url = f"http://127.0.0.1:{port}/v1/webhooks/payments"
    sandbox.behaviour.async_delay_ms = 10
    try:
        charge = await sandbox.charge("k", 100, "EUR", "pm_card_async", {"payment_id": "p1"})
        headers, body = await asyncio.wait_for(received.get(), 10)
    finally:
        server.close()
    signature.verify(SECRET, headers[signature.HEADER.lower()], body)
    event = msgspec.json.decode(body)
    assert (event["type"], event["data"]["object"]["id"]) == ("charge.succeeded", charge.id)
    assert event["data"]["object"]["metadata"] == {"payment_id": "p1"}
