"""Ordering: orders and their lifecycle, driven by events from inventory and payments.

Publishes OrderPlaced, OrderConfirmed, OrderRejected, OrderCancelled and OrderShipped.
"""

from shared.modules import Module

module = Module(name="ordering")
