"""Rules for paying an order: pure, no I/O.

Whether another payment of the order is live is decided by the partial unique index at the
moment of the insert (at most one `processing` or `succeeded` payment per order), not here:
the checks here give the common cases their precise answers, the index keeps the law.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from uuid_utils.compat import uuid7

from features.payments.schema import Payment
from shared.auth.principal import Principal
from shared.http.problems import Problem, conflict, not_found

_NOT_PAYABLE = {
    "pending": "The order is not confirmed yet: its stock is still being reserved.",
    "rejected": "The order was rejected; it cannot be paid.",
    "cancelled": "The order was cancelled; it cannot be paid.",
}


class NewPayment(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    order_id: UUID
    user_id: UUID
    amount_cents: int
    currency: str
    payment_method: str
    request_key: bytes
    created_at: datetime


def request_key(principal: Principal, idempotency_key: str) -> bytes:
    """Names the request that makes a payment: the same caller's retry with the same key."""
    return hashlib.sha256(f"{principal.user_id}\n{idempotency_key}".encode()).digest()


def check_payable(order: dict[str, Any] | None, principal: Principal) -> None:
    # Payments knows an order once ordering's first event about it arrived (milliseconds).
    if order is None or order["user_id"] != principal.user_id:
        raise not_found("No such order.")
    if order["status"] in _NOT_PAYABLE:
        raise conflict(_NOT_PAYABLE[order["status"]])


def refuse_live(live: dict[str, Any] | None) -> None:
    if live is None:
        return
    if live["status"] == "succeeded":
        raise conflict("The order is already paid.")
    raise conflict("A payment of this order is already in progress.")


def in_progress() -> Problem:
    return Problem(409, "This payment is still being confirmed with the payment provider; "
                   "retry shortly with the same Idempotency-Key.",
                   slug="idempotency-in-progress", title="Idempotent request in progress",
                   headers={"Retry-After": "1"})


def new_payment(order: dict[str, Any], payment_method: str, key: bytes) -> NewPayment:
    return NewPayment(id=uuid7(), order_id=order["order_id"], user_id=order["user_id"],
                      amount_cents=order["total_cents"], currency=order["currency"],
                      payment_method=payment_method, request_key=key,
                      created_at=datetime.now(UTC))


def answer(payment: dict[str, Any], *, retry: bool = False) -> Payment:
    """The payment as the caller hears it: 201 unless the provider declined it (402). A retry
    of a request whose outcome is still unknown (its call timed out) is told to come back."""
    if retry and payment["status"] == "processing":
        raise in_progress()
    if payment["status"] == "failed":
        raise Problem(402, "The payment provider declined the payment.",
                      slug="payment-declined", title="Payment declined",
                      decline_code=payment["decline_code"], payment_id=str(payment["id"]))
    return msgspec.convert(payment, Payment)
