"""POST /v1/orders/{order_id}/payments: the owner pays a confirmed order (Idempotency-Key).

Stripe's atomic phases: (1) the payment is committed `processing` before the provider is
called; (2) the provider is called outside any transaction, through the circuit breaker, with
an idempotency key derived from the payment id; (3) the outcome and its event
(PaymentSucceeded / PaymentFailed) commit together. A crash or timeout between (1) and (3)
leaves a `processing` row that the recovery sweep settles by asking the provider, so the
charge is neither lost nor made twice. Meanwhile a retry with the same Idempotency-Key gets
409 `idempotency-in-progress`, and its final answer once there is one.

201 the payment (`succeeded`, or `processing` for a method the provider confirms later);
402 `payment-declined` with `decline_code` (stored as a failed payment); 409 when the order is
not confirmed, already paid, or being paid; 503 `service-unavailable` with Retry-After when the
circuit is open (the provider is not called) or the provider did not answer in time.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import structlog
from litestar import Request, Response
from litestar.params import FromPath, JSONBody
from psycopg.errors import UniqueViolation

from features.payments import ledger
from features.payments.gateway import GATEWAY, Provider
from features.payments.pay_order import logic, sql
from features.payments.pay_order.schema import PayOrder
from features.payments.provider.breaker import CircuitOpen
from features.payments.provider.port import ChargeRequest, ProviderUnavailable
from features.payments.schema import Payment
from shared.http.deps import AppSettings, Caller, Db
from shared.http.idempotency import IdempotentTx, idempotent_post, parse_key
from shared.http.openapi import fed_by
from shared.http.pacing import Paced
from shared.http.problems import Problem
from shared.http.schema import problems

log = structlog.get_logger("rampart.payments")


def unavailable(detail: str, retry_after: int) -> Problem:
    return Problem(503, detail, title="Service Unavailable",
                   headers={"Retry-After": str(retry_after)})


@idempotent_post("/v1/orders/{order_id:uuid}/payments", middleware=[Paced()],
                 second_connection=True, operation_id="payOrder",
                 tags=["payments"], opt=fed_by(placeOrder={"order_id": "$response.body#/id"}),
                 responses=problems(401, 402, 404, 409, 503),
                 dependencies=GATEWAY)
async def pay_order(request: Request[Any, Any, Any], order_id: FromPath[UUID],
                    data: JSONBody[PayOrder], principal: Caller, db: Db, settings: AppSettings,
                    gateway: Provider, tx: IdempotentTx) -> Response[Payment]:
    """Charge the order's total with a payment method."""
    key = logic.request_key(principal, parse_key(request.headers.getall("idempotency-key")))
    # Reads go through the request's own transaction (the kernel's idempotency connection);
    # the two phases commit on their own, as they must, before and after the call.
    order, earlier, live = await sql.find(tx, order_id, key)
    logic.check_payable(order, principal)
    assert order is not None
    if earlier is not None:  # this request's call timed out before: its outcome, or wait
        return Response(logic.answer(earlier, retry=True), status_code=201)
    logic.refuse_live(live)
    try:
        gateway.breaker.check()  # fail fast: no payment row, no call
    except CircuitOpen as exc:
        raise unavailable("The payment provider is unavailable; retry later.",
                          exc.retry_after) from None

    payment = logic.new_payment(order, data.payment_method, key)
    try:
        async with db.transaction() as phase1:
            await sql.insert_processing(phase1, payment)
    except UniqueViolation:  # another payment of this order got in first
        logic.refuse_live(await sql.find_live(tx, order_id) or {"status": "processing"})
        raise

    try:
        charge = await gateway.charge(ChargeRequest(
            payment_id=payment.id, amount_cents=payment.amount_cents,
            currency=payment.currency, payment_method=payment.payment_method))
    except CircuitOpen as exc:  # opened by another request since the check: nothing was sent
        async with db.transaction() as undo:
            await sql.forget_unsent(undo, payment.id)
        raise unavailable("The payment provider is unavailable; retry later.",
                          exc.retry_after) from None
    except ProviderUnavailable as exc:
        log.warning("payment_provider_unavailable", payment_id=str(payment.id), error=str(exc))
        raise unavailable(
            "The payment provider did not answer in time. The payment is being confirmed; "
            "retry with the same Idempotency-Key to learn its outcome.",
            settings.payment_recovery_after_seconds) from None

    async with db.transaction() as phase3:
        # The outcome as recorded; or, when another road recorded it first, as that one did.
        final = await ledger.settle(phase3, payment.id, charge) \
            or await sql.read(phase3, payment.id)
    if final["refund_due"]:  # the order was cancelled while its charge went through
        try:
            await ledger.refund_owed(db, gateway, payment.id, final["provider_charge_id"])
        except (ProviderUnavailable, CircuitOpen):
            log.warning("payment_refund_deferred", payment_id=str(payment.id))
        final = await sql.read(tx, payment.id)
    return Response(logic.answer(final), status_code=201)
