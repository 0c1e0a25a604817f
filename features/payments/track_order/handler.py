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


async def order_placed(event: OrderPlaced, tx: Tx) -> None:
    await sql.learn(tx, event.order_id, event.user_id, "pending")


async def order_confirmed(event: OrderConfirmed, tx: Tx) -> None:
    await sql.learn(tx, event.order_id, event.user_id, "confirmed", event.total_cents,
                    event.currency)


async def order_rejected(event: OrderRejected, tx: Tx) -> None:
    await sql.learn(tx, event.order_id, event.user_id, "rejected")


async def order_cancelled(event: OrderCancelled, tx: Tx) -> None:
    # The order's row lock first (the upsert), then the payments: see ../ledger.py.
    await sql.learn(tx, event.order_id, event.user_id, "cancelled")
    await sql.owe_refunds(tx, event.order_id)


# Short database writes only, nothing published: each may share a transaction.
subscriptions = [
    Subscription(event_type=name, name=f"payments.{handler.__name__}", payload_type=payload,
                 handler=handler, shares_transaction=True)
    for name, payload, handler in [
        ("OrderPlaced", OrderPlaced, order_placed),
        ("OrderConfirmed", OrderConfirmed, order_confirmed),
        ("OrderRejected", OrderRejected, order_rejected),
        ("OrderCancelled", OrderCancelled, order_cancelled),
    ]
]
