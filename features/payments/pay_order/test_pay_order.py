"""pay_order: POST /v1/orders/{id}/payments, against the sandbox over a real socket."""

from __future__ import annotations

import asyncio

import pytest
from uuid_utils.compat import uuid7

from features.payments.conftest import (
    Customer,
    cancel,
    confirmed_order,
    deliver,
    events_of,
    payments_of,
)
from features.payments.gateway import provider_name
from features.payments.pay_order import logic
from features.payments.provider.breaker import STATE
from features.payments.recover_payments.handler import recover_payments
from features.payments.track_order.handler import OrderPlaced, order_placed
from shared.auth.principal import Principal
from shared.http.problems import Problem
from tests.fixtures import eventually, problem


def url(order_id) -> str:
    return f"/v1/orders/{order_id}/payments"


# -- logic (pure) ---------------------------------------------------------------------------

def test_another_users_order_is_not_found_and_an_unconfirmed_one_conflicts() -> None:
    me = Principal(user_id=uuid7(), role="customer")
    with pytest.raises(Problem) as caught:
        logic.check_payable({"user_id": uuid7(), "status": "confirmed"}, me)
    assert caught.value.status == 404
    for status in ("pending", "rejected", "cancelled"):
        with pytest.raises(Problem) as caught:
            logic.check_payable({"user_id": me.user_id, "status": status}, me)
        assert caught.value.status == 409
    logic.check_payable({"user_id": me.user_id, "status": "confirmed"}, me)


def test_the_provider_is_named_without_credentials() -> None:
    assert provider_name("https://sk_live_secret@pay.example:8443/v1") == "pay.example:8443"
    assert provider_name("https://pay.example") == "pay.example"
    assert provider_name(None) == "sandbox"


def test_the_request_key_is_the_callers_own() -> None:
    a, b = Principal(user_id=uuid7(), role="customer"), Principal(user_id=uuid7(), role="customer")
    assert logic.request_key(a, "k") == logic.request_key(a, "k")
    assert logic.request_key(a, "k") != logic.request_key(b, "k")


# -- HTTP, on a real database and the sandbox -------------------------------------------------

async def test_a_visa_payment_succeeds_charges_once_and_publishes(client, customer, db_conn,
                                                                  sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id, total_cents=1999, currency="USD")
    answer = await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                               headers=customer.paying())
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["order_id"], body["amount_cents"], body["currency"], body["status"],
            body["decline_code"]) == (str(order_id), 1999, "USD", "succeeded", None)
    charges = await sandbox.charges()
    assert [(c["amount"], c["currency"], c["metadata"]["payment_id"]) for c in charges] == \
        [(1999, "USD", body["id"])]
    assert charges[0]["idempotency_key"] == f"payment-{body['id']}"
    [event] = await events_of(db_conn, "PaymentSucceeded", order_id)
    assert event == {"order_id": str(order_id), "payment_id": body["id"],
                     "user_id": str(customer.id), "amount_cents": 1999, "currency": "USD"}


@pytest.mark.parametrize(("method", "code"), [
    ("pm_card_chargeDeclined", "card_declined"),
    ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
])
async def test_a_decline_is_402_and_a_failed_payment(client, customer, db_conn, sandbox, method,
                                                     code) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    answer = await client.post(url(order_id), json={"payment_method": method},
                               headers=customer.paying())
    body = problem(answer, 402, "payment-declined")
    assert body["decline_code"] == code
    [payment] = await payments_of(db_conn, order_id)
    assert (payment["status"], payment["decline_code"], str(payment["id"])) == \
        ("failed", code, body["payment_id"])
    [event] = await events_of(db_conn, "PaymentFailed", order_id)
    assert event["decline_code"] == code
    # A failed payment is not live: the order can be paid with another card.
    answer = await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                               headers=customer.paying())
    assert answer.json()["status"] == "succeeded"


async def test_a_replay_with_the_same_key_charges_once(client, customer, db_conn,
                                                       sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    headers = customer.paying("same-key")
    first = await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                              headers=headers)
    again = await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                              headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert len(await sandbox.charges()) == 1


async def test_five_concurrent_payments_with_different_keys_charge_once(
        client, customer, db_conn, sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    await sandbox.behave(latency_ms=100)  # all five are in flight together
    answers = await asyncio.gather(*(
        client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                    headers=customer.paying(f"key-{i}")) for i in range(5)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409, 409, 409], [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            problem(answer, 409, "conflict")
    assert len(await sandbox.charges()) == 1
    assert [p["status"] for p in await payments_of(db_conn, order_id)] == ["succeeded"]


@pytest.mark.parametrize("payment_settings", [{"db_pool_min": 1, "db_pool_max": 4}])
async def test_more_payments_at_once_than_the_pool_has_connections_all_go_through(
        client, customer, db_conn, sandbox) -> None:
    """A payment holds its record's connection while each phase takes another: twelve at once
    on a pool of four would hold all four, each waiting for a fifth, until the pool gives up
    (503 after 10 s) with charges made and their outcomes left to the sweep."""
    orders = [await confirmed_order(db_conn, customer.id) for _ in range(12)]
    await sandbox.behave(latency_ms=50)  # all twelve are in flight together
    answers = await asyncio.gather(*(
        client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                    headers=customer.paying(f"many-{i}")) for i, order_id in enumerate(orders)))
    assert [a.status_code for a in answers] == [201] * 12, \
        [a.text for a in answers if a.status_code != 201][:1]
    assert len(await sandbox.charges()) == 12
    for order_id in orders:
        assert [p["status"] for p in await payments_of(db_conn, order_id)] == ["succeeded"]


async def test_the_index_refuses_a_second_live_payment(client, customer, db_conn,
                                                       sandbox) -> None:
    import psycopg

    order_id = await confirmed_order(db_conn, customer.id)
    await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                      headers=customer.paying())
    [paid] = await payments_of(db_conn, order_id)
    with pytest.raises(psycopg.errors.UniqueViolation):
        await db_conn.execute(
            "INSERT INTO payments.payments (id, order_id, user_id, amount_cents, currency,"
            " payment_method, status, request_key, created_at, updated_at)"
            " VALUES (%s, %s, %s, 1, 'EUR', 'pm_card_visa', 'processing', '\\x00', now(), now())",
            (uuid7(), order_id, paid["user_id"]))


async def test_paying_twice_is_409(client, customer, db_conn, sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    first = await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                              headers=customer.paying())
    assert first.status_code == 201
    second = await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                               headers=customer.paying())
    assert "already paid" in problem(second, 409, "conflict")["detail"]
    assert len(await sandbox.charges()) == 1


async def test_a_pending_or_cancelled_order_is_409(client, customer, db_conn, sandbox) -> None:
    pending = uuid7()
    await deliver(db_conn, order_placed, OrderPlaced(order_id=pending, user_id=customer.id))
    cancelled = await confirmed_order(db_conn, customer.id)
    await cancel(db_conn, cancelled, customer.id)
    for order_id in (pending, cancelled):
        answer = await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                                   headers=customer.paying())
        problem(answer, 409, "conflict")
    assert await sandbox.charges() == []


async def test_another_users_or_an_unknown_order_is_404(app, client, customer, db_conn,
                                                        sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    stranger = Customer(app)
    for target in (order_id, uuid7()):
        answer = await client.post(url(target), json={"payment_method": "pm_card_visa"},
                                   headers=stranger.paying())
        problem(answer, 404, "not-found")
    problem(await client.post("/v1/orders/not-a-uuid/payments",
                              json={"payment_method": "pm_card_visa"},
                              headers=stranger.paying()), 404, "not-found")
    assert await sandbox.charges() == []


@pytest.mark.parametrize("body", [{}, {"payment_method": ""}, {"payment_method": "visa"},
                                  {"payment_method": "pm_" + "x" * 100},
                                  {"payment_method": 4242}, {"payment_method": "pm_card_visa\n"},
                                  {"payment_method": "pm_card_visa", "amount_cents": 1}])
async def test_a_bad_body_is_400(client, customer, db_conn, sandbox, body) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    problem(await client.post(url(order_id), json=body, headers=customer.paying()),
            400, "validation-error")
    assert await sandbox.charges() == []


async def test_without_an_idempotency_key_or_token(client, customer, db_conn, sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    problem(await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                              headers=customer.headers), 400, "idempotency-key-missing")
    problem(await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                              headers={"Idempotency-Key": "k"}), 401, "unauthenticated")


async def test_an_async_method_answers_processing(client, customer, db_conn, sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    await sandbox.behave(async_delay_ms=60_000)
    answer = await client.post(url(order_id), json={"payment_method": "pm_card_async"},
                               headers=customer.paying())
    assert (answer.status_code, answer.json()["status"]) == (201, "processing")
    assert await events_of(db_conn, "PaymentSucceeded", order_id) == []


# -- a slow, failing or vanishing provider ----------------------------------------------------

async def test_a_timeout_is_503_then_the_sweep_settles_it_once(client, customer, db_conn,
                                                               sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    await sandbox.behave(latency_ms=1500)  # recorded at once, answered after our 1 s timeout
    headers = customer.paying("slow")
    answer = await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                               headers=headers)
    body = problem(answer, 503, "service-unavailable")
    assert int(answer.headers["retry-after"]) >= 1 and "Idempotency-Key" in body["detail"]
    [payment] = await payments_of(db_conn, order_id)
    assert payment["status"] == "processing"
    # The same request again, meanwhile: still being confirmed.
    retry = await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                              headers=headers)
    assert problem(retry, 409, "idempotency-in-progress")
    assert retry.headers["retry-after"] == "1"

    await sandbox.behave()
    assert await recover_payments(client._transport.app.state.db, settings_of(client),
                                  older_than=0) == 1
    [payment] = await payments_of(db_conn, order_id)
    assert payment["status"] == "succeeded"
    assert len(await sandbox.charges()) == 1
    assert len(await events_of(db_conn, "PaymentSucceeded", order_id)) == 1
    final = await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                              headers=headers)
    assert (final.status_code, final.json()["status"]) == (201, "succeeded")


def settings_of(client):
    return client._transport.app.state.settings


async def test_a_connection_refused_is_503_and_no_payment_is_left_charged(
        app, client, customer, db_conn, sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    await sandbox.behave(failure="error", failures_left=1)
    answer = await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                               headers=customer.paying())
    problem(answer, 503, "service-unavailable")
    assert await sandbox.charges() == []
    # The sweep finds no charge at the provider and sends it again, under the same key.
    assert await recover_payments(app.state.db, app.state.settings, older_than=0) == 1
    assert [c["idempotency_key"] for c in await sandbox.charges()] == \
        [f"payment-{p['id']}" for p in await payments_of(db_conn, order_id)]


async def test_the_breaker_opens_after_five_failures_and_fails_fast(
        app, client, customer, db_conn, sandbox) -> None:
    await sandbox.behave(failure="error")
    orders = [await confirmed_order(db_conn, customer.id) for _ in range(6)]
    for order_id in orders[:5]:
        problem(await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                                  headers=customer.paying()), 503, "service-unavailable")
    calls = await sandbox.calls()
    assert calls == 5
    answer = await client.post(url(orders[5]), json={"payment_method": "pm_card_visa"},
                               headers=customer.paying())
    problem(answer, 503, "service-unavailable")
    assert 1 <= int(answer.headers["retry-after"]) <= 30
    assert await sandbox.calls() == calls  # not called at all
    assert await payments_of(db_conn, orders[5]) == []  # and nothing left to recover
    gauge = STATE.labels(provider_name(app.state.settings.payment_provider_url))._value.get()
    assert gauge == 2


async def test_a_decline_never_opens_the_breaker(client, customer, db_conn, sandbox) -> None:
    for _ in range(6):
        order_id = await confirmed_order(db_conn, customer.id)
        problem(await client.post(url(order_id), json={"payment_method": "pm_card_chargeDeclined"},
                                  headers=customer.paying()), 402, "payment-declined")
    order_id = await confirmed_order(db_conn, customer.id)
    answer = await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                               headers=customer.paying())
    assert answer.status_code == 201


async def test_a_kill_between_the_call_and_the_outcome_is_recovered_once(
        app, client, customer, db_conn, sandbox) -> None:
    order_id = await confirmed_order(db_conn, customer.id)
    await sandbox.behave(latency_ms=800)
    request = asyncio.create_task(client.post(
        url(order_id), json={"payment_method": "pm_card_visa"}, headers=customer.paying()))
    # Once the sandbox has the charge, the request dies before it hears the answer: nothing
    # after the call runs, as when the process is killed there.
    await eventually(sandbox.charges)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    [payment] = await payments_of(db_conn, order_id)
    assert payment["status"] == "processing"
    await sandbox.behave()
    assert await recover_payments(app.state.db, app.state.settings, older_than=0) == 1
    assert await recover_payments(app.state.db, app.state.settings, older_than=0) == 0
    [payment] = await payments_of(db_conn, order_id)
    assert payment["status"] == "succeeded"
    assert len(await sandbox.charges()) == 1
    assert len(await events_of(db_conn, "PaymentSucceeded", order_id)) == 1


@pytest.mark.parametrize("payment_settings", [{"payment_breaker_failures": 2,
                                               "payment_breaker_reset_seconds": 1}])
async def test_after_the_open_time_one_probe_closes_the_breaker(
        app, client, customer, db_conn, sandbox) -> None:
    await sandbox.behave(failure="error")
    for _ in range(2):
        order_id = await confirmed_order(db_conn, customer.id)
        problem(await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                                  headers=customer.paying()), 503, "service-unavailable")
    order_id = await confirmed_order(db_conn, customer.id)
    assert (await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                              headers=customer.paying())).headers["retry-after"] == "1"
    await sandbox.behave()
    await asyncio.sleep(1.1)  # the open time passes (a wait, not a timing assertion)
    answer = await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                               headers=customer.paying())
    assert (answer.status_code, answer.json()["status"]) == (201, "succeeded")
    gauge = STATE.labels(provider_name(app.state.settings.payment_provider_url))._value.get()
    assert gauge == 0


@pytest.mark.parametrize("payment_settings", [{"payment_breaker_failures": 1,
                                               "payment_breaker_reset_seconds": 1}])
async def test_a_failed_probe_opens_it_again(app, client, customer, db_conn, sandbox) -> None:
    await sandbox.behave(failure="error")
    order_id = await confirmed_order(db_conn, customer.id)
    problem(await client.post(url(order_id), json={"payment_method": "pm_card_visa"},
                              headers=customer.paying()), 503, "service-unavailable")
    await asyncio.sleep(1.1)
    other = await confirmed_order(db_conn, customer.id)
    problem(await client.post(url(other), json={"payment_method": "pm_card_visa"},
                              headers=customer.paying()), 503, "service-unavailable")
    calls = await sandbox.calls()
    third = await confirmed_order(db_conn, customer.id)
    problem(await client.post(url(third), json={"payment_method": "pm_card_visa"},
                              headers=customer.paying()), 503, "service-unavailable")
    assert await sandbox.calls() == calls
