"""notify_order_shipped: the buyer hears that the order left the warehouse."""

from __future__ import annotations

import msgspec
import pytest
from uuid_utils.compat import uuid7

from features.notifications.notify_order_shipped.handler import (
    Line,
    OrderShipped,
    notify_order_shipped,
    subscription,
)
from features.notifications.notify_order_shipped.logic import order_shipped
from features.notifications.testing import handle_twice_at_once, notifications, recorded_once

PUBLISHED = ('{"order_id": "%s", "user_id": "%s", "lines": [{"product_id": "%s", "quantity": 2},'
             ' {"product_id": "%s", "quantity": 1}]}')


def test_reads_only_what_it_needs_from_the_published_event() -> None:
    order_id, user_id = uuid7(), uuid7()
    payload = msgspec.json.decode(PUBLISHED % (order_id, user_id, uuid7(), uuid7()),
                                  type=subscription.payload_type)
    assert payload == OrderShipped(order_id=order_id, user_id=user_id,
                                   lines=[Line(quantity=2), Line(quantity=1)])


@pytest.mark.parametrize(("quantities", "told"), [([2, 1], "with its 3 items."),
                                                  ([1], "with its 1 item."),
                                                  ([], "with it.")])
def test_the_items_are_counted(quantities, told) -> None:
    message = order_shipped(uuid7(), quantities)
    assert message.subject == "Your order has shipped" and told in message.body


async def test_one_notification_per_shipment_however_often_delivered(db_conn) -> None:
    event = OrderShipped(order_id=uuid7(), user_id=uuid7(), lines=[Line(quantity=4)])
    row = await recorded_once(db_conn, notify_order_shipped, event, kind="order_shipped",
                              source_id=event.order_id)
    assert "4 items" in row["body"]


async def test_one_event_handled_twice_at_once_notifies_once(database_url, db_conn) -> None:
    event = OrderShipped(order_id=uuid7(), user_id=uuid7(), lines=[])
    await handle_twice_at_once(database_url, db_conn, notify_order_shipped, event)
    assert len(await notifications(db_conn)) == 1


@pytest.mark.parametrize("fields", [{"lines": None}, {"lines": [{"quantity": "2"}]},
                                    {"lines": [{"product_id": "p"}]}, {"order_id": 1}])
def test_a_malformed_payload_does_not_decode(fields) -> None:
    payload = {"order_id": str(uuid7()), "user_id": str(uuid7()), "lines": []} | fields
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(payload), type=subscription.payload_type)
