"""notify_payment_succeeded: on PaymentSucceeded, tell the buyer the payment arrived."""
