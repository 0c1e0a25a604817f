"""Ordering: orders and their lifecycle (features/ordering/lifecycle.py), driven by events.

Learns prices from catalog (ProductCreated, ProductUpdated), hears inventory's answer to each
OrderPlaced (StockReserved, StockRejected) and payments' (PaymentSucceeded). Publishes
OrderPlaced, OrderConfirmed, OrderRejected, OrderCancelled and OrderShipped.
"""

from features.ordering.cancel_order.handler import cancel_order
from features.ordering.confirm_order.handler import subscription as confirm_order
from features.ordering.get_order.handler import get_order
from features.ordering.list_orders.handler import list_orders
from features.ordering.place_order.handler import place_order
from features.ordering.reject_order.handler import subscription as reject_order
from features.ordering.ship_order.handler import ship_order
from features.ordering.track_prices.handler import on_created, on_updated
from shared.modules import Module

module = Module(
    name="ordering",
    routes=[place_order, get_order, list_orders, cancel_order, ship_order],
    # features/ordering/mark_paid (PaymentSucceeded) joins these once payments publishes it.
    subscriptions=[on_created, on_updated, confirm_order, reject_order],
)
