"""ship_stock: on OrderShipped, the reservation becomes a shipment, once."""

from __future__ import annotations

from uuid_utils.compat import uuid7

from features.inventory.release_stock.handler import OrderCancelled, release_stock
from features.inventory.reserve_stock.handler import Line, OrderPlaced, reserve_stock
from features.inventory.ship_stock.handler import OrderShipped, ship_stock
from tests.saga import handle, product, stock


async def test_on_hand_and_reserved_both_fall_once(database_url, db_conn) -> None:
    tea, cup = await product(db_conn, on_hand=5), await product(db_conn, on_hand=4)
    order_id = uuid7()
    await handle(database_url, reserve_stock, OrderPlaced(order_id, [Line(tea, 2),
                                                                     Line(cup, 4)]))
    for _ in range(3):
        await handle(database_url, ship_stock, OrderShipped(order_id))
    assert await stock(db_conn, tea) == (3, 0) and await stock(db_conn, cup) == (0, 0)
    # A cancel that somehow followed cannot give shipped stock back.
    await handle(database_url, release_stock, OrderCancelled(order_id))
    assert await stock(db_conn, tea) == (3, 0)


async def test_a_shipment_without_a_reservation_changes_no_stock(database_url,
                                                                 db_conn) -> None:
    tea, order_id = await product(db_conn, on_hand=5), uuid7()
    await handle(database_url, ship_stock, OrderShipped(order_id))
    await handle(database_url, reserve_stock, OrderPlaced(order_id, [Line(tea, 9)]))  # rejected
    await handle(database_url, ship_stock, OrderShipped(order_id))
    assert await stock(db_conn, tea) == (5, 0)
