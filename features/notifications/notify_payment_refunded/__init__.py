"""notify_payment_refunded: on PaymentRefunded, tell the payer the money is on its way back."""
