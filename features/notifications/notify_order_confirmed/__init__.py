"""notify_order_confirmed: on OrderConfirmed, tell the buyer the order is confirmed."""
