"""The port every payment provider adapter implements, and what its calls answer.

A call either answers (a charge that succeeded, failed or is still pending at the provider) or
raises `ProviderUnavailable`: a timeout, a refused or broken connection, a 5xx, an answer that
makes no sense. Only the latter count against the circuit breaker; a decline is an answer.
"""

from __future__ import annotations

from typing import Literal, Protocol
from uuid import UUID

import msgspec


class ChargeRequest(msgspec.Struct, frozen=True, kw_only=True):
    payment_id: UUID
    amount_cents: int
    currency: str
    payment_method: str

    @property
    def idempotency_key(self) -> str:
        return charge_key(self.payment_id)


class Charge(msgspec.Struct, frozen=True, kw_only=True):
    """A charge as the provider knows it. `pending`: it will tell later (webhook, or asked)."""

    id: str
    status: Literal["succeeded", "failed", "pending"]
    decline_code: str | None = None


class ProviderUnavailable(Exception):
    """The provider did not answer usefully: the outcome of the call is unknown."""


class PaymentProvider(Protocol):
    async def charge(self, request: ChargeRequest) -> Charge: ...

    async def find_charge(self, idempotency_key: str) -> Charge | None:
        """The charge made with this idempotency key, or None if the provider has none."""
        ...

    async def refund(self, charge_id: str, *, idempotency_key: str) -> None: ...

    async def close(self) -> None: ...


def charge_key(payment_id: UUID) -> str:
    """One payment, one key: however often its charge is sent, the provider charges once."""
    return f"payment-{payment_id}"


def refund_key(payment_id: UUID) -> str:
    return f"refund-{payment_id}"
