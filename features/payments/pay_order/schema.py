from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from shared.http.schema import Body, whole

PaymentMethod = Annotated[str, Meta(
    min_length=4, max_length=100, pattern=whole(r"pm_[A-Za-z0-9_]+"),
    description="The provider's payment method id; the sandbox knows pm_card_visa, "
    "pm_card_chargeDeclined, pm_card_chargeDeclinedInsufficientFunds and pm_card_async.",
    examples=["pm_card_visa"])]


class PayOrder(Body, frozen=True):
    payment_method: PaymentMethod
