"""notify_payment_succeeded: the payer hears that the payment arrived, with the amount.

Payments is not on this branch yet, so these run the handler directly on the real database;
the subscription joins the module's manifest when payments does.
"""

from __future__ import annotations

import msgspec
import pytest
from uuid_utils.compat import uuid7

from features.notifications.notify_payment_succeeded.handler import (
    PaymentSucceeded,
    notify_payment_succeeded,
    notify_payments_succeeded,
    subscription,
)
from features.notifications.notify_payment_succeeded.logic import payment_succeeded
from features.notifications.testing import (
    announced,
    batches_at_once,
    handle,
    handle_twice_at_once,
    notifications,
    recorded_once,
)

PUBLISHED = ('{"order_id": "%s", "payment_id": "%s", "user_id": "%s", "amount_cents": 1250,'
             ' "currency": "EUR", "provider_reference": "ch_1"}')


def paid(**fields) -> PaymentSucceeded:
    return PaymentSucceeded(**{"order_id": uuid7(), "payment_id": uuid7(), "user_id": uuid7(),
                               "amount_cents": 99900, "currency": "JPY"} | fields)


def test_reads_only_what_it_needs_from_the_published_event() -> None:
    ids = (uuid7(), uuid7(), uuid7())
    payload = msgspec.json.decode(PUBLISHED % ids, type=subscription.payload_type)
    assert payload == PaymentSucceeded(order_id=ids[0], payment_id=ids[1], user_id=ids[2],
                                       amount_cents=1250, currency="EUR")
    assert subscription.event_type == "PaymentSucceeded"


def test_the_amount_is_written_in_the_currency_s_own_decimals() -> None:
    order_id, payment_id = uuid7(), uuid7()
    message = payment_succeeded(order_id, payment_id, 99900, "JPY")
    assert message.subject == "Payment received"
    assert "payment of JPY 99,900 for order" in message.body
    assert str(order_id) in message.body and str(payment_id) in message.body


async def test_one_notification_per_payment_however_often_delivered(db_conn) -> None:
    event = paid()
    row = await recorded_once(db_conn, notify_payment_succeeded, event,
                              kind="payment_succeeded", source_id=event.payment_id)
    assert "JPY 99,900" in row["body"]


async def test_a_second_payment_of_one_order_is_a_second_notification(db_conn) -> None:
    order_id = uuid7()
    for _ in range(2):  # a failed attempt, then another payment that succeeded, say
        await handle(db_conn, notify_payment_succeeded, paid(order_id=order_id))
    assert len(await notifications(db_conn)) == 2


async def test_one_event_handled_twice_at_once_notifies_once(database_url, db_conn) -> None:
    await handle_twice_at_once(database_url, db_conn, notify_payment_succeeded, paid())
    assert len(await notifications(db_conn)) == 1


async def test_a_batch_notifies_each_payment_once_as_one_by_one_would(db_conn) -> None:
    """The relay's batch (`notify_payments_succeeded`): one notification and one announcement
    per payment, the same event twice in it or one recorded before included; the batch
    redelivered whole writes nothing more."""
    earlier, first, second = paid(), paid(), paid(amount_cents=99, currency="EUR")
    await handle(db_conn, notify_payment_succeeded, earlier)
    for _ in range(2):
        await handle(db_conn, notify_payments_succeeded, [first, earlier, second, first])
    rows = await notifications(db_conn)
    assert sorted((r["source_id"], r["user_id"]) for r in rows) == sorted(
        (e.payment_id, e.user_id) for e in (earlier, first, second))
    assert sorted(a["notification_id"] for a in await announced(db_conn)) == sorted(
        str(r["id"]) for r in rows)
    assert "EUR 0.99" in next(r["body"] for r in rows if r["source_id"] == second.payment_id)
    await handle(db_conn, notify_payments_succeeded, [])  # an empty batch writes nothing
    assert len(await notifications(db_conn)) == 3


async def test_payment_batches_at_once_notify_each_once(database_url, db_conn) -> None:
    events = [paid() for _ in range(10)]
    await batches_at_once(database_url, notify_payments_succeeded,
                          events, events[::-1], events[3:7])
    assert len(await notifications(db_conn)) == 10 and len(await announced(db_conn)) == 10


@pytest.mark.parametrize("fields", [{"amount_cents": "1"}, {"payment_id": None},
                                    {"currency": 978}])
def test_a_malformed_payload_does_not_decode(fields) -> None:
    payload = {"order_id": str(uuid7()), "payment_id": str(uuid7()), "user_id": str(uuid7()),
               "amount_cents": 1, "currency": "EUR"} | fields
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(payload), type=subscription.payload_type)
