"""notify_order_rejected: the buyer hears that the order was not accepted, and why."""

from __future__ import annotations

import msgspec
import pytest
from uuid_utils.compat import uuid7

from features.notifications.notify_order_rejected.handler import (
    OrderRejected,
    notify_order_rejected,
    subscription,
)
from features.notifications.notify_order_rejected.logic import order_rejected
from features.notifications.testing import handle_twice_at_once, notifications, recorded_once

PUBLISHED = '{"order_id": "%s", "user_id": "%s", "reason": "insufficient_stock", "x": 1}'


def test_reads_only_what_it_needs_from_the_published_event() -> None:
    order_id, user_id = uuid7(), uuid7()
    payload = msgspec.json.decode(PUBLISHED % (order_id, user_id), type=subscription.payload_type)
    assert payload == OrderRejected(order_id=order_id, user_id=user_id,
                                    reason="insufficient_stock")


def test_a_known_reason_is_told_in_words() -> None:
    message = order_rejected(uuid7(), "insufficient_stock")
    assert message.subject == "Your order could not be accepted"
    assert "not in stock" in message.body and "insufficient_stock" not in message.body


@pytest.mark.parametrize(("reason", "told"), [("fraud_suspected", "this: fraud_suspected"),
                                              ("   ", "this: unknown"),
                                              ("x" * 10_000, "this: " + "x" * 200 + ".")])
def test_an_unknown_reason_is_quoted_short(reason, told) -> None:
    message = order_rejected(uuid7(), reason)
    assert told in message.body and len(message.body) < 1000


async def test_one_notification_per_rejection_however_often_delivered(db_conn) -> None:
    event = OrderRejected(order_id=uuid7(), user_id=uuid7(), reason="insufficient_stock")
    await recorded_once(db_conn, notify_order_rejected, event, kind="order_rejected",
                        source_id=event.order_id)


async def test_one_event_handled_twice_at_once_notifies_once(database_url, db_conn) -> None:
    event = OrderRejected(order_id=uuid7(), user_id=uuid7(), reason="insufficient_stock")
    await handle_twice_at_once(database_url, db_conn, notify_order_rejected, event)
    assert len(await notifications(db_conn)) == 1


@pytest.mark.parametrize("fields", [{"reason": None}, {"reason": 7}, {"user_id": None}])
def test_a_malformed_payload_does_not_decode(fields) -> None:
    payload = {"order_id": str(uuid7()), "user_id": str(uuid7()), "reason": "r"} | fields
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(payload), type=subscription.payload_type)
