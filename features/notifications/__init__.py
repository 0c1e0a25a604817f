"""Notifications: what users are told, in the app and by e-mail.

Learns users from identity's UserRegistered and writes one notification per event of ordering
and payments; each one is then mailed by its own subscription, send_email, when SMTP_URL is
set. Publishes NotificationCreated (consumed by send_email).
"""

from features.notifications.list_notifications.handler import list_notifications
from features.notifications.notify_order_confirmed.handler import (
    subscription as notify_order_confirmed,
)
from features.notifications.notify_order_rejected.handler import (
    subscription as notify_order_rejected,
)
from features.notifications.notify_order_shipped.handler import (
    subscription as notify_order_shipped,
)
from features.notifications.notify_payment_refunded.handler import (
    subscription as notify_payment_refunded,
)
from features.notifications.notify_payment_succeeded.handler import (
    subscription as notify_payment_succeeded,
)
from features.notifications.send_email.handler import subscription as send_email
from features.notifications.welcome_user.handler import subscription as welcome_user
from shared.modules import Module

module = Module(
    name="notifications",
    routes=[list_notifications],
    subscriptions=[welcome_user, notify_order_confirmed, notify_order_rejected,
                   notify_order_shipped, notify_payment_succeeded, notify_payment_refunded,
                   send_email],
)
