"""Events the inventory module publishes: its public contract with other modules.

Both answer an OrderPlaced, so their aggregate is the order.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from shared.db.events import Event


class StockReserved(Event, frozen=True, kw_only=True):
    """Every line of the order is reserved."""

    aggregate: ClassVar[str] = "order_id"
    order_id: UUID


class StockRejected(Event, frozen=True, kw_only=True):
    """Nothing was reserved: some line asked for more than is available."""

    aggregate: ClassVar[str] = "order_id"
    order_id: UUID
    reason: str
