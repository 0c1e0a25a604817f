"""Payments: charging confirmed orders through the payment provider, with a timeout, a circuit
breaker, signed webhooks and a recovery sweep; refunds when a cancel raced the charge.

Learns orders from ordering's events (track_order); publishes PaymentSucceeded, PaymentFailed
and PaymentRefunded (events.py). `rampart payments-sandbox --port P` serves the sandbox
provider on its own port.
"""

from features.payments.list_payments.handler import list_payments
from features.payments.pay_order.handler import pay_order
from features.payments.provider.command import payments_sandbox
from features.payments.receive_webhook.handler import receive_webhook
from features.payments.recover_payments.handler import periodic as recover_payments
from features.payments.track_order.handler import subscriptions as track_order
from shared.modules import Module

module = Module(
    name="payments",
    routes=[pay_order, list_payments, receive_webhook],
    subscriptions=track_order,
    commands=[payments_sandbox],
    periodic=[recover_payments],
)
