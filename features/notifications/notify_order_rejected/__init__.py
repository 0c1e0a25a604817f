"""notify_order_rejected: on OrderRejected, tell the buyer why the order was not accepted."""
