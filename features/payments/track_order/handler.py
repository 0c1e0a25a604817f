"""What payments knows of orders, from ordering's events (it never reads ordering's tables).

OrderPlaced (pending: known, not payable yet), OrderConfirmed (payable: the amount),
OrderRejected, OrderCancelled. Each is a lane of its own, so they may arrive in any order; a
status only moves forward (sql.py). A cancellation that finds a succeeded charge owes its
refund: the compensation for a payment that raced the cancel. Redeliveries change nothing.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.payments.track_order import sql
from features.payments.track_order.logic import Learned
from shared.db import Tx
from shared.modules import Subscription


class OrderPlaced(msgspec.Struct, frozen=True):
    order_id: UUID
    user_id: UUID


class OrderConfirmed(msgspec.Struct, frozen=True):
    order_id: UUID
    user_id: UUID
    total_cents: int
    currency: str


class OrderRejected(msgspec.Struct, frozen=True):
    order_id: UUID
    user_id: UUID


class OrderCancelled(msgspec.Struct, frozen=True):
    order_id: UUID
    user_id: UUID


# Each handler is its batch of one: the relay hands a claim's deliveries of one subscriber to
# the batch form (Subscription.handle_many), one statement for all of them.
async def order_placed(event: OrderPlaced, tx: Tx) -> None:
    await orders_placed([event], tx)


async def orders_placed(events: list[OrderPlaced], tx: Tx) -> None:
    await sql.learn(tx, (Learned(e.order_id, e.user_id, "pending") for e in events))


async def order_confirmed(event: OrderConfirmed, tx: Tx) -> None:
    await orders_confirmed([event], tx)


async def orders_confirmed(events: list[OrderConfirmed], tx: Tx) -> None:
    await sql.learn(tx, (Learned(e.order_id, e.user_id, "confirmed", e.total_cents, e.currency)
                         for e in events))


async def order_rejected(event: OrderRejected, tx: Tx) -> None:
    await orders_rejected([event], tx)


async def orders_rejected(events: list[OrderRejected], tx: Tx) -> None:
    await sql.learn(tx, (Learned(e.order_id, e.user_id, "rejected") for e in events))


async def order_cancelled(event: OrderCancelled, tx: Tx) -> None:
    # The order's row lock first (the upsert), then the payments: see ../ledger.py.
    await sql.learn(tx, [Learned(event.order_id, event.user_id, "cancelled")])
    await sql.owe_refunds(tx, event.order_id)


# Short database writes only, nothing published. The cancellation (rare, and it also owes
# refunds) shares a transaction with other deliveries; the rest come in batches, and the
# confirmation's shares its transaction with the claim's other sharing batches
# (notifications', on the same events). Only one of the batches shares, so that no
# transaction ever holds two batches of these rows, each in its own order.
subscriptions = [
    Subscription(event_type="OrderPlaced", name="payments.order_placed",
                 payload_type=OrderPlaced, handler=order_placed, handle_many=orders_placed),
    Subscription(event_type="OrderConfirmed", name="payments.order_confirmed",
                 payload_type=OrderConfirmed, handler=order_confirmed,
                 handle_many=orders_confirmed, shares_transaction=True),
    Subscription(event_type="OrderRejected", name="payments.order_rejected",
                 payload_type=OrderRejected, handler=order_rejected,
                 handle_many=orders_rejected),
    Subscription(event_type="OrderCancelled", name="payments.order_cancelled",
                 payload_type=OrderCancelled, handler=order_cancelled,
                 shares_transaction=True),
]
