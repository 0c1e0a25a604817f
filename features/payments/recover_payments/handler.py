"""The recovery sweep: a periodic job of every relay (shared/modules.py `Periodic`).

A payment still `processing` after PAYMENT_RECOVERY_AFTER_SECONDS lost its outcome between the
provider call and the commit (a crash, a timeout) or waits for a charge the provider confirms
later. The sweep asks the provider by the payment's idempotency key and settles it through the
same ledger move the request and the webhook use. If the provider has no such charge, the call
never reached it: the charge is sent again with the same key (the provider takes a key once,
so this cannot charge twice). Refunds owed (an order cancelled after its charge) are made too.

Several relays may sweep at once: the provider calls are idempotent and each ledger move is
guarded by the state it starts from, so the second sweeper changes nothing.
"""

from __future__ import annotations

import structlog

from features.payments import ledger
from features.payments.gateway import gateway_for
from features.payments.provider.breaker import CircuitOpen
from features.payments.provider.port import ChargeRequest, ProviderUnavailable, charge_key
from features.payments.recover_payments import sql
from shared.db import Database
from shared.modules import Periodic
from shared.settings import Settings

log = structlog.get_logger("rampart.payments")
BATCH = 100


async def recover_payments(db: Database, settings: Settings, *,
                           older_than: float | None = None) -> int:
    """Settle what can be settled now; return how many payments moved."""
    gateway = gateway_for(settings)
    after = settings.payment_recovery_after_seconds if older_than is None else older_than
    async with db.connection() as conn:
        rows = await sql.unfinished(conn, after, BATCH)
    moved = 0
    for row in rows:
        try:
            if row["status"] == "processing":
                key = charge_key(row["id"])
                charge = await gateway.find_charge(key)
                if charge is None:
                    charge = await gateway.charge(ChargeRequest(
                        payment_id=row["id"], amount_cents=row["amount_cents"],
                        currency=row["currency"], payment_method=row["payment_method"]))
                async with db.transaction() as tx:
                    settled = await ledger.settle(tx, row["id"], charge)
                if settled is None:
                    continue
                moved += 1
                log.info("payment_recovered", payment_id=str(row["id"]),
                         status=settled["status"])
                row = {**row, **settled}
            if row["refund_due"]:
                moved += await ledger.refund_owed(db, gateway, row["id"],
                                                  row["provider_charge_id"])
        except CircuitOpen:
            break  # the provider is down: the next sweep tries again
        except ProviderUnavailable as exc:
            log.warning("payment_recovery_failed", payment_id=str(row["id"]), error=str(exc))
    return moved


periodic = Periodic(name="payments.recover_payments",
                    interval=lambda s: s.payment_recovery_interval_seconds,
                    run=recover_payments)
