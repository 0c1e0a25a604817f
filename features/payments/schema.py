"""The payment as every payments slice answers it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

PaymentStatus = Literal["processing", "succeeded", "failed", "refunded"]
PAYMENT_COLUMNS = "id, order_id, amount_cents, currency, status, decline_code, created_at"


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    order_id: UUID
    amount_cents: int
    currency: str
    status: PaymentStatus
    decline_code: str | None
    created_at: datetime
