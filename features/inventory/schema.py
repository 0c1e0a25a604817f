"""The stock-level resource as every inventory slice returns it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

STOCK_COLUMNS = "product_id, on_hand, reserved"


class StockLevel(msgspec.Struct, frozen=True):
    product_id: UUID
    on_hand: int
    reserved: int
    available: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StockLevel:
        """What can still be promised to new orders: on hand, minus what orders hold."""
        return cls(product_id=row["product_id"], on_hand=row["on_hand"],
                   reserved=row["reserved"], available=row["on_hand"] - row["reserved"])
