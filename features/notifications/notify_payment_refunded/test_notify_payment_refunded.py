"""notify_payment_refunded: the payer hears that the money is on its way back.

Payments is not on this branch yet, so these run the handler directly on the real database;
the subscription joins the module's manifest when payments does.
"""

from __future__ import annotations

import msgspec
import pytest
from uuid_utils.compat import uuid7

from features.notifications.notify_payment_refunded.handler import (
    PaymentRefunded,
    notify_payment_refunded,
    subscription,
)
from features.notifications.notify_payment_refunded.logic import payment_refunded
from features.notifications.notify_payment_succeeded.handler import (
    PaymentSucceeded,
    notify_payment_succeeded,
)
from features.notifications.testing import (
    handle,
    handle_twice_at_once,
    notifications,
    recorded_once,
)


def refunded(**fields) -> PaymentRefunded:
    return PaymentRefunded(**{"order_id": uuid7(), "payment_id": uuid7(), "user_id": uuid7(),
                              "amount_cents": 1999, "currency": "BHD"} | fields)


def test_reads_only_what_it_needs_from_the_published_event() -> None:
    ids = (uuid7(), uuid7(), uuid7())
    payload = msgspec.json.decode(
        b'{"order_id": "%s", "payment_id": "%s", "user_id": "%s", "amount_cents": 5,'
        b' "currency": "USD", "reason": "order_cancelled"}' % tuple(str(i).encode() for i in ids),
        type=subscription.payload_type)
    assert payload == PaymentRefunded(order_id=ids[0], payment_id=ids[1], user_id=ids[2],
                                      amount_cents=5, currency="USD")


def test_the_amount_is_written_in_the_currency_s_own_decimals() -> None:
    message = payment_refunded(uuid7(), uuid7(), 1999, "BHD")
    assert message.subject == "Payment refunded" and "We refunded BHD 1.999 for" in message.body


async def test_one_notification_per_refund_however_often_delivered(db_conn) -> None:
    event = refunded()
    await recorded_once(db_conn, notify_payment_refunded, event, kind="payment_refunded",
                        source_id=event.payment_id)


async def test_a_payment_and_its_refund_are_two_notifications(db_conn) -> None:
    event = refunded()
    await handle(db_conn, notify_payment_succeeded, PaymentSucceeded(**msgspec.structs.asdict(
        event)))
    await handle(db_conn, notify_payment_refunded, event)
    assert [r["kind"] for r in await notifications(db_conn)] == ["payment_succeeded",
                                                                 "payment_refunded"]


async def test_one_event_handled_twice_at_once_notifies_once(database_url, db_conn) -> None:
    await handle_twice_at_once(database_url, db_conn, notify_payment_refunded, refunded())
    assert len(await notifications(db_conn)) == 1


@pytest.mark.parametrize("fields", [{"amount_cents": None}, {"order_id": "x"}, {"user_id": 3}])
def test_a_malformed_payload_does_not_decode(fields) -> None:
    payload = {"order_id": str(uuid7()), "payment_id": str(uuid7()), "user_id": str(uuid7()),
               "amount_cents": 1, "currency": "EUR"} | fields
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(payload), type=subscription.payload_type)
