"""POST /v1/webhooks/payments: the provider reports a charge's outcome (signed, no token).

Refused (400) unless `Payment-Signature` is a valid HMAC-SHA256 of timestamp and raw body under
PAYMENT_WEBHOOK_SECRET, with a timestamp within 5 minutes (no replays). Each event id takes
effect once; a repeat answers 200 `{"duplicate": true}` and changes nothing. `charge.succeeded`
and `charge.failed` settle a `processing` payment (the road `pm_card_async` takes), exactly as
the recovery sweep would: whichever comes second changes nothing. `charge.refunded` marks a
succeeded payment refunded. Events about payments Rampart does not know are acknowledged.
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, post

from features.payments import ledger, signature
from features.payments.gateway import GATEWAY, Provider, webhook_secret
from features.payments.provider.breaker import CircuitOpen
from features.payments.provider.port import ProviderUnavailable
from features.payments.receive_webhook import logic, sql
from features.payments.receive_webhook.schema import Received
from shared.http.deps import AppSettings, Db
from shared.http.pacing import Paced
from shared.http.problems import invalid
from shared.http.schema import problems

log = structlog.get_logger("rampart.payments")


@post("/v1/webhooks/payments", middleware=[Paced()], status_code=200, opt={"public": True},
      operation_id="receivePaymentWebhook", tags=["payments"], responses=problems(),
      dependencies=GATEWAY)
async def receive_webhook(request: Request[Any, Any, Any], db: Db, settings: AppSettings,
                          gateway: Provider) -> Received:
    """A signed event from the payment provider (charge.succeeded, .failed, .refunded)."""
    body = await request.body()
    secret = webhook_secret(settings)
    try:
        if secret is None:
            raise signature.BadSignature("No PAYMENT_WEBHOOK_SECRET is configured.")
        signature.verify(secret, request.headers.get(signature.HEADER), body)
    except signature.BadSignature as exc:
        raise invalid(str(exc), parameter=signature.HEADER) from None
    event = logic.parse(body)
    payment_id, outcome = logic.payment_id(event), logic.outcome(event)
    settled = None
    async with db.transaction() as tx:
        if not await sql.first_time(tx, event.id, event.type):
            return Received(received=True, duplicate=True)
        if payment_id is not None and outcome is not None:
            settled = await ledger.settle(tx, payment_id, outcome)
        elif payment_id is not None and event.type == "charge.refunded":
            await ledger.refunded(tx, payment_id)
    if settled is not None and settled["refund_due"]:
        try:
            await ledger.refund_owed(db, gateway, payment_id, settled["provider_charge_id"])
        except (ProviderUnavailable, CircuitOpen):
            log.warning("payment_refund_deferred", payment_id=str(payment_id))
    return Received(received=True, duplicate=False)
