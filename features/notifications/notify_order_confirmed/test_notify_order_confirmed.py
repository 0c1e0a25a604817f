"""notify_order_confirmed: the buyer hears that the order is confirmed, with its total."""

from __future__ import annotations

import msgspec
import pytest
from uuid_utils.compat import uuid7

from features.notifications.notify_order_confirmed.handler import (
    OrderConfirmed,
    notify_order_confirmed,
    notify_orders_confirmed,
    subscription,
)
from features.notifications.notify_order_confirmed.logic import order_confirmed
from features.notifications.testing import (
    announced,
    batches_at_once,
    handle,
    handle_twice_at_once,
    notifications,
    recorded_once,
)

PUBLISHED = ('{"order_id": "%s", "user_id": "%s", "total_cents": 123456, "currency": "EUR",'
             ' "later_field": [1]}')


def confirmed(**fields) -> OrderConfirmed:
    return OrderConfirmed(**{"order_id": uuid7(), "user_id": uuid7(), "total_cents": 1250,
                             "currency": "EUR"} | fields)


def test_reads_only_what_it_needs_from_the_published_event() -> None:
    order_id, user_id = uuid7(), uuid7()
    payload = msgspec.json.decode(PUBLISHED % (order_id, user_id), type=subscription.payload_type)
    assert payload == OrderConfirmed(order_id=order_id, user_id=user_id, total_cents=123456,
                                     currency="EUR")


@pytest.mark.parametrize(("cents", "currency", "told"), [
    (123456, "EUR", "EUR 1,234.56"), (1500, "JPY", "JPY 1,500"), (1, "KWD", "KWD 0.001"),
    (5, "USD", "USD 0.05"), (9007199254740991, "USD", "USD 90,071,992,547,409.91")])
def test_the_total_is_written_in_the_currency_s_own_decimals(cents, currency, told) -> None:
    order_id = uuid7()
    message = order_confirmed(order_id, cents, currency)
    assert message.subject == "Your order is confirmed"
    assert f"The total is {told};" in message.body and str(order_id) in message.body


async def test_one_notification_per_confirmation_however_often_delivered(db_conn) -> None:
    event = confirmed()
    row = await recorded_once(db_conn, notify_order_confirmed, event, kind="order_confirmed",
                              source_id=event.order_id)
    assert "EUR 12.50" in row["body"]


async def test_two_orders_of_one_user_are_two_notifications(db_conn) -> None:
    user_id = uuid7()
    for _ in range(2):
        await handle(db_conn, notify_order_confirmed, confirmed(user_id=user_id))
    assert [r["user_id"] for r in await notifications(db_conn)] == [user_id, user_id]


async def test_one_event_handled_twice_at_once_notifies_once(database_url, db_conn) -> None:
    await handle_twice_at_once(database_url, db_conn, notify_order_confirmed, confirmed())
    assert len(await notifications(db_conn)) == 1


async def test_a_batch_notifies_each_confirmation_once_as_one_by_one_would(db_conn) -> None:
    """The relay's batch (`notify_orders_confirmed`): one notification and one announcement
    per order, the same event twice in it or already recorded included, and the whole batch
    redelivered writes nothing more."""
    earlier, first, second = confirmed(), confirmed(), confirmed(total_cents=99)
    await handle(db_conn, notify_order_confirmed, earlier)
    for _ in range(2):
        await handle(db_conn, notify_orders_confirmed, [first, earlier, second, first])
    rows = await notifications(db_conn)
    assert sorted((r["source_id"], r["user_id"]) for r in rows) == sorted(
        (e.order_id, e.user_id) for e in (earlier, first, second))
    assert sorted(a["notification_id"] for a in await announced(db_conn)) == sorted(
        str(r["id"]) for r in rows)
    assert "EUR 0.99" in next(r["body"] for r in rows if r["source_id"] == second.order_id)
    await handle(db_conn, notify_orders_confirmed, [])  # an empty batch writes nothing
    assert len(await notifications(db_conn)) == 3


async def test_batches_at_once_over_the_same_events_notify_each_once(database_url,
                                                                     db_conn) -> None:
    events = [confirmed() for _ in range(10)]
    await batches_at_once(database_url, notify_orders_confirmed,
                          events, events[::-1], events[3:7])
    assert len(await notifications(db_conn)) == 10 and len(await announced(db_conn)) == 10


@pytest.mark.parametrize("fields", [{"total_cents": "1250"}, {"total_cents": 12.5},
                                    {"currency": None}, {"user_id": "nobody"},
                                    {"order_id": None}])
def test_a_malformed_payload_does_not_decode(fields) -> None:
    payload = {"order_id": str(uuid7()), "user_id": str(uuid7()), "total_cents": 1,
               "currency": "EUR"} | fields
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(payload), type=subscription.payload_type)
