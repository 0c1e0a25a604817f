"""Reading a provider event: pure, no I/O. The signature is checked before this (signature.py)."""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.payments.provider.port import Charge
from features.payments.receive_webhook.schema import ProviderEvent
from shared.http.problems import invalid

OUTCOMES = {"charge.succeeded": "succeeded", "charge.failed": "failed"}
MAX_EVENT_ID = 255


def parse(body: bytes) -> ProviderEvent:
    try:
        event = msgspec.json.decode(body, type=ProviderEvent)
    except msgspec.DecodeError:
        raise invalid("The body is not a payment provider event.", pointer="#") from None
    if not 1 <= len(event.id) <= MAX_EVENT_ID:
        raise invalid("The event id must be 1-255 characters.", pointer="#/id")
    return event


def payment_id(event: ProviderEvent) -> UUID | None:
    """The payment the charge belongs to (Rampart put its id in the charge's metadata)."""
    try:
        return UUID(event.data.object.metadata.get("payment_id", ""))
    except ValueError:
        return None


def outcome(event: ProviderEvent) -> Charge | None:
    """A final charge outcome, or None for an event that is not one."""
    status = OUTCOMES.get(event.type)
    if status is None:
        return None
    charge = event.data.object
    return Charge(id=charge.id, status=status,  # type: ignore[arg-type]
                  decline_code=(charge.failure_code or "card_declined")
                  if status == "failed" else None)
