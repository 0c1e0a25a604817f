"""On OrderShipped (from ordering): the reservation becomes a shipment: on_hand and reserved
both fall by its quantities, once.

Ordering ships only paid orders, and an order is paid only after inventory reserved it, so the
reservation is always there; a redelivery finds it shipped and does nothing.
"""

from __future__ import annotations

from uuid import UUID

import msgspec
import structlog

from features.inventory import reservation_sql
from features.inventory.ship_stock import sql
from shared.db import Tx
from shared.modules import Subscription

log = structlog.get_logger("rampart.inventory")


class OrderShipped(msgspec.Struct, frozen=True):
    order_id: UUID


async def ship_stock(event: OrderShipped, tx: Tx) -> None:
    await reservation_sql.lock_order(tx, event.order_id)
    status = await reservation_sql.reservation_status(tx, event.order_id)
    if status != "reserved":
        if status != "shipped":
            log.warning("order_shipped_without_reservation", order_id=str(event.order_id),
                        reservation=status)
        return
    lines = await reservation_sql.reserved_lines(tx, event.order_id)
    await reservation_sql.lock_stock(tx, list(lines))
    await sql.ship(tx, event.order_id)


subscription = Subscription(event_type="OrderShipped", name="inventory.ship_stock",
                            payload_type=OrderShipped, handler=ship_stock)
