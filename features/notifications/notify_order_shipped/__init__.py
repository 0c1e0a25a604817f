"""notify_order_shipped: on OrderShipped, tell the buyer the order is on its way."""
