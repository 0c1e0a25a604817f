"""receive_webhook: POST /v1/webhooks/payments, signed events from the sandbox provider.

The events are the sandbox's own, signed by it: the test hands them to Rampart byte for byte,
as the sandbox's POST would (the app under test is served in-process, not on a socket).
"""

from __future__ import annotations

import time

import msgspec
import pytest

from features.payments import signature
from features.payments.conftest import confirmed_order, events_of, payments_of
from features.payments.receive_webhook import logic
from features.payments.recover_payments.handler import recover_payments
from shared.http.problems import Problem
from tests.fixtures import eventually, problem
from tests.payments_sandbox import WEBHOOK_SECRET

WEBHOOK = "/v1/webhooks/payments"


async def forward(client, event):
    return await client.post(WEBHOOK, content=event["body"], headers={
        "content-type": "application/json", signature.HEADER: event["signature"]})


async def sandbox_event(sandbox, kind: str, payment_id: str):
    async def find():
        for event in await sandbox.events():
            body = msgspec.json.decode(event["body"])
            if event["type"] == kind and \
                    body["data"]["object"]["metadata"].get("payment_id") == payment_id:
                return event
        return None
    return await eventually(find)


async def pay_async(client, customer, db_conn, sandbox):
    order_id = await confirmed_order(db_conn, customer.id)
    await sandbox.behave(async_delay_ms=50)
    answer = await client.post(f"/v1/orders/{order_id}/payments",
                               json={"payment_method": "pm_card_async"},
                               headers=customer.paying())
    assert answer.json()["status"] == "processing", answer.text
    return order_id, answer.json()["id"]


# -- logic (pure) ---------------------------------------------------------------------------

def test_an_event_names_its_payment_and_outcome() -> None:
    body = msgspec.json.encode({"id": "evt_1", "type": "charge.failed", "extra": 1, "data": {
        "object": {"id": "ch_1", "status": "failed", "failure_code": "insufficient_funds",
                   "metadata": {"payment_id": "01a2383d-2b8a-7a3e-9a45-1b2c3d4e5f60"}}}})
    event = logic.parse(body)
    assert str(logic.payment_id(event)) == "01a2383d-2b8a-7a3e-9a45-1b2c3d4e5f60"
    outcome = logic.outcome(event)
    assert (outcome.status, outcome.decline_code) == ("failed", "insufficient_funds")


@pytest.mark.parametrize("body", [b"", b"[]", b'{"id": "evt"}', b"not json",
                                  msgspec.json.encode({"id": "", "type": "x",
                                                       "data": {"object": {"id": "c",
                                                                           "status": "s"}}})])
def test_what_is_not_an_event_is_refused(body) -> None:
    with pytest.raises(Problem) as caught:
        logic.parse(body)
    assert caught.value.status == 400


# -- HTTP, on a real database and the sandbox -------------------------------------------------

async def test_the_webhook_completes_an_async_payment_once(client, customer, db_conn,
                                                           sandbox) -> None:
    order_id, payment_id = await pay_async(client, customer, db_conn, sandbox)
    event = await sandbox_event(sandbox, "charge.succeeded", payment_id)
    answer = await forward(client, event)
    assert (answer.status_code, answer.json()) == (200, {"received": True, "duplicate": False})
    [payment] = await payments_of(db_conn, order_id)
    assert payment["status"] == "succeeded"
    assert len(await events_of(db_conn, "PaymentSucceeded", order_id)) == 1
    # The provider delivers at least once: the same event again changes nothing.
    again = await forward(client, event)
    assert (again.status_code, again.json()) == (200, {"received": True, "duplicate": True})
    assert len(await events_of(db_conn, "PaymentSucceeded", order_id)) == 1


async def test_the_same_event_twice_at_once_takes_effect_once(client, customer, db_conn,
                                                              sandbox) -> None:
    import asyncio

    order_id, payment_id = await pay_async(client, customer, db_conn, sandbox)
    event = await sandbox_event(sandbox, "charge.succeeded", payment_id)
    answers = await asyncio.gather(forward(client, event), forward(client, event))
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True]
    assert len(await events_of(db_conn, "PaymentSucceeded", order_id)) == 1


async def test_a_bad_signature_is_400_and_changes_nothing(client, customer, db_conn,
                                                          sandbox) -> None:
    order_id, payment_id = await pay_async(client, customer, db_conn, sandbox)
    event = await sandbox_event(sandbox, "charge.succeeded", payment_id)
    tampered = {**event, "body": event["body"].replace("succeeded", "succeeded ")}
    forged = {**event, "signature": signature.sign("whsec_not_the_secret_0",
                                                   event["body"].encode())}
    for bad in (tampered, forged, {**event, "signature": ""}):
        problem(await forward(client, bad), 400, "validation-error")
    [payment] = await payments_of(db_conn, order_id)
    assert payment["status"] == "processing"
    # Refused events were not remembered: the genuine one still takes effect.
    assert (await forward(client, event)).json()["duplicate"] is False


async def test_a_stale_timestamp_is_refused_as_a_replay(client, customer, db_conn,
                                                        sandbox) -> None:
    order_id, payment_id = await pay_async(client, customer, db_conn, sandbox)
    event = await sandbox_event(sandbox, "charge.succeeded", payment_id)
    body = event["body"].encode()
    stale = signature.sign(WEBHOOK_SECRET, body, timestamp=int(time.time()) - 301)
    answer = await forward(client, {**event, "signature": stale})
    assert "tolerance" in problem(answer, 400, "validation-error")["detail"]
    assert (await payments_of(db_conn, order_id))[0]["status"] == "processing"


async def test_webhook_before_the_sweep(app, client, customer, db_conn, sandbox) -> None:
    order_id, payment_id = await pay_async(client, customer, db_conn, sandbox)
    await forward(client, await sandbox_event(sandbox, "charge.succeeded", payment_id))
    assert await recover_payments(app.state.db, app.state.settings, older_than=0) == 0
    assert len(await events_of(db_conn, "PaymentSucceeded", order_id)) == 1


async def test_webhook_after_the_sweep(app, client, customer, db_conn, sandbox) -> None:
    order_id, payment_id = await pay_async(client, customer, db_conn, sandbox)
    event = await sandbox_event(sandbox, "charge.succeeded", payment_id)  # settled there
    assert await recover_payments(app.state.db, app.state.settings, older_than=0) == 1
    answer = await forward(client, event)
    assert (answer.status_code, answer.json()["duplicate"]) == (200, False)
    [payment] = await payments_of(db_conn, order_id)
    assert payment["status"] == "succeeded"
    assert len(await events_of(db_conn, "PaymentSucceeded", order_id)) == 1


async def test_a_charge_failed_event_fails_a_processing_payment(client, customer, db_conn,
                                                                sandbox) -> None:
    order_id, payment_id = await pay_async(client, customer, db_conn, sandbox)
    body = msgspec.json.encode({"id": "evt_failed_1", "type": "charge.failed", "data": {
        "object": {"id": "ch_x", "status": "failed", "failure_code": "card_declined",
                   "metadata": {"payment_id": payment_id}}}})
    answer = await forward(client, {"body": body.decode(),
                                    "signature": signature.sign(WEBHOOK_SECRET, body)})
    assert answer.status_code == 200
    [payment] = await payments_of(db_conn, order_id)
    assert (payment["status"], payment["decline_code"]) == ("failed", "card_declined")
    [failed] = await events_of(db_conn, "PaymentFailed", order_id)
    assert failed["decline_code"] == "card_declined"


async def test_events_about_unknown_payments_are_acknowledged(client, sandbox) -> None:
    body = msgspec.json.encode({"id": "evt_other", "type": "charge.succeeded", "data": {
        "object": {"id": "ch_x", "status": "succeeded", "metadata": {"payment_id": "nope"}}}})
    answer = await forward(client, {"body": body.decode(),
                                    "signature": signature.sign(WEBHOOK_SECRET, body)})
    assert answer.status_code == 200


async def test_a_signed_body_that_is_no_event_is_400(client, sandbox) -> None:
    body = b'{"hello": "world"}'
    answer = await forward(client, {"body": body.decode(),
                                    "signature": signature.sign(WEBHOOK_SECRET, body)})
    problem(answer, 400, "validation-error")
