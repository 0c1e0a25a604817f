"""On OrderCancelled (from ordering): release exactly what that order reserved, once.

Any order of arrival works: a reservation is released (its stock freed); a rejected or
already released one is left alone; an order inventory has not seen yet gets a `released`
row, so its OrderPlaced, arriving later in its own lane, reserves nothing.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.inventory import reservation_sql
from features.inventory.release_stock import sql
from shared.db import Tx
from shared.modules import Subscription


class OrderCancelled(msgspec.Struct, frozen=True):
    order_id: UUID


async def release_stock(event: OrderCancelled, tx: Tx) -> None:
    await reservation_sql.lock_order(tx, event.order_id)
    status = await reservation_sql.reservation_status(tx, event.order_id)
    if status is None:
        await sql.tombstone(tx, event.order_id)
    elif status == "reserved":
        lines = await reservation_sql.reserved_lines(tx, event.order_id)
        await reservation_sql.lock_stock(tx, list(lines))  # in product order: no deadlocks
        await sql.release(tx, event.order_id)


subscription = Subscription(event_type="OrderCancelled", name="inventory.release_stock",
                            payload_type=OrderCancelled, handler=release_stock)
