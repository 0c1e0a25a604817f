"""A payment's moves after its charge went out, and the events they publish: shared by the
three roads that learn an outcome (pay_order's answer, the provider's webhook, the recovery
sweep). Each move is guarded by the state it starts from, so when two roads meet, the second
changes nothing and publishes nothing.

Every move takes the order's row lock first: OrderCancelled takes it too (track_order), so a
charge that succeeds and a cancellation that lands at the same moment are serialised, and
whichever comes second sees the other and flags the refund. The provider is called only
outside these transactions (`refund_owed`: the call first, then the move).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from features.payments.events import PaymentFailed, PaymentRefunded, PaymentSucceeded
from features.payments.gateway import Gateway
from features.payments.provider.port import Charge, refund_key
from shared.db import Database, Tx
from shared.db.events import publish

_LOCK_ORDER = """
SELECT o.status FROM payments.orders o JOIN payments.payments p ON p.order_id = o.order_id
WHERE p.id = %s FOR UPDATE OF o"""

# Only a payment still `processing` takes an outcome; a succeeded charge of an order that is
# cancelled by now owes its refund at once.
_SETTLE = """
UPDATE payments.payments SET
    status = %(status)s, decline_code = %(decline_code)s,
    provider_charge_id = coalesce(%(charge_id)s, provider_charge_id),
    refund_due = (%(status)s = 'succeeded' AND %(order_status)s = 'cancelled'),
    updated_at = now()
WHERE id = %(id)s AND status = 'processing'
RETURNING id, order_id, user_id, amount_cents, currency, status, decline_code, refund_due,
          provider_charge_id, created_at"""

_REFUNDED = """
UPDATE payments.payments SET status = 'refunded', refund_due = false, updated_at = now()
WHERE id = %s AND status = 'succeeded'
RETURNING id, order_id, user_id, amount_cents, currency"""


async def settle(tx: Tx, payment_id: UUID, charge: Charge) -> dict[str, Any] | None:
    """Record a final outcome (succeeded or failed) of a `processing` payment and publish it.
    None when it was not processing any more (another road got there first), or when the
    charge is still pending at the provider (nothing to record yet)."""
    if charge.status == "pending":
        return None
    order = await (await tx.execute(_LOCK_ORDER, (payment_id,))).fetchone()
    if order is None:
        return None
    cur = await tx.execute(_SETTLE, {
        "id": payment_id, "status": charge.status, "charge_id": charge.id or None,
        "decline_code": charge.decline_code if charge.status == "failed" else None,
        "order_status": order["status"]})
    row = await cur.fetchone()
    if row is None:
        return None
    common = {"order_id": row["order_id"], "payment_id": row["id"], "user_id": row["user_id"],
              "amount_cents": row["amount_cents"], "currency": row["currency"]}
    if row["status"] == "succeeded":
        await publish(tx, PaymentSucceeded(**common))
    else:
        await publish(tx, PaymentFailed(**common, decline_code=row["decline_code"]))
    return row


async def refunded(tx: Tx, payment_id: UUID) -> bool:
    """The provider gave a succeeded charge back: record it, publish PaymentRefunded once."""
    await tx.execute(_LOCK_ORDER, (payment_id,))
    row = await (await tx.execute(_REFUNDED, (payment_id,))).fetchone()
    if row is None:
        return False
    await publish(tx, PaymentRefunded(order_id=row["order_id"], payment_id=row["id"],
                                      user_id=row["user_id"], amount_cents=row["amount_cents"],
                                      currency=row["currency"]))
    return True


async def refund_owed(db: Database, gateway: Gateway, payment_id: UUID, charge_id: str) -> bool:
    """Give back a charge whose order was cancelled: the provider first (idempotent by the
    refund key, so a retry after a crash refunds once), then the move. Raises
    ProviderUnavailable or CircuitOpen, leaving `refund_due` for the sweep."""
    await gateway.refund(charge_id, idempotency_key=refund_key(payment_id))
    async with db.transaction() as tx:
        return await refunded(tx, payment_id)
