"""The provider's webhook event, as far as Rampart reads it (tolerant: other fields ignored)."""

from __future__ import annotations

import msgspec


class ChargeObject(msgspec.Struct, frozen=True):
    id: str
    status: str
    failure_code: str | None = None
    metadata: dict[str, str] = {}


class EventData(msgspec.Struct, frozen=True):
    object: ChargeObject


class ProviderEvent(msgspec.Struct, frozen=True):
    id: str
    type: str
    data: EventData


class Received(msgspec.Struct, frozen=True):
    received: bool
    duplicate: bool
