"""Inventory: stock per product. Learns products from catalog's ProductCreated event."""

from features.inventory.adjust_stock.handler import adjust_stock
from features.inventory.get_stock_level.handler import get_stock_level
from features.inventory.track_product.handler import subscription as track_product
from shared.modules import Module

module = Module(
    name="inventory",
    routes=[get_stock_level, adjust_stock],
    subscriptions=[track_product],
)
