"""Inventory: stock per product, and the reservations orders hold on it.

Learns products from catalog's ProductCreated; reserves, releases and ships stock for
ordering's OrderPlaced, OrderCancelled and OrderShipped; answers StockReserved or
StockRejected.
"""

from features.inventory.adjust_stock.handler import adjust_stock
from features.inventory.get_stock_level.handler import get_stock_level
from features.inventory.release_stock.handler import subscription as release_stock
from features.inventory.reserve_stock.handler import subscription as reserve_stock
from features.inventory.ship_stock.handler import subscription as ship_stock
from features.inventory.track_product.handler import subscription as track_product
from shared.modules import Module

module = Module(
    name="inventory",
    routes=[get_stock_level, adjust_stock],
    subscriptions=[track_product, reserve_stock, release_stock, ship_stock],
)
