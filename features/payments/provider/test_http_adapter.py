"""The HTTP adapter against the sandbox over a real socket, and against nothing at all."""

from __future__ import annotations

import pytest
from uuid_utils.compat import uuid7

from features.payments.provider.http import HttpProvider
from features.payments.provider.port import ChargeRequest, ProviderUnavailable
from tests.fixtures import free_port


def request(method: str = "pm_card_visa") -> ChargeRequest:
    return ChargeRequest(payment_id=uuid7(), amount_cents=1234, currency="EUR",
                         payment_method=method)


@pytest.fixture
async def provider(sandbox, sandbox_url):
    p = HttpProvider(sandbox_url, connect_timeout=0.5, total_timeout=0.5)
    yield p
    await p.close()


async def test_the_same_key_is_the_same_charge(provider, sandbox) -> None:
    req = request()
    first, again = await provider.charge(req), await provider.charge(req)
    assert first == again and first.status == "succeeded"
    assert len(await sandbox.charges()) == 1
    assert await provider.find_charge(req.idempotency_key) == first
    assert await provider.find_charge("payment-unknown") is None


async def test_a_decline_is_an_answer(provider, sandbox) -> None:
    charge = await provider.charge(request("pm_card_chargeDeclinedInsufficientFunds"))
    assert (charge.status, charge.decline_code) == ("failed", "insufficient_funds")


async def test_refunds_are_idempotent(provider, sandbox) -> None:
    req = request()
    charge = await provider.charge(req)
    for _ in range(2):
        await provider.refund(charge.id, idempotency_key=f"refund-{req.payment_id}")
    [recorded] = await sandbox.charges()
    assert recorded["refunded"] is True
    assert len([e for e in await sandbox.events() if e["type"] == "charge.refunded"]) == 1
    with pytest.raises(ProviderUnavailable):  # no such charge: a 404 is not understood
        await provider.refund("ch_nope", idempotency_key="refund-x")


@pytest.mark.parametrize("failure", ["error", "hang"])
async def test_5xx_and_silence_are_unavailable(provider, sandbox, failure) -> None:
    await sandbox.behave(failure=failure)
    with pytest.raises(ProviderUnavailable):
        await provider.charge(request())
    await sandbox.behave()
    assert await sandbox.charges() == []


async def test_nobody_listening_is_unavailable() -> None:
    p = HttpProvider(f"http://127.0.0.1:{free_port()}", connect_timeout=0.5, total_timeout=1)
    try:
        with pytest.raises(ProviderUnavailable):
            await p.charge(request())
    finally:
        await p.close()
