"""Rules for a manual stock adjustment: pure, no I/O.

Whether the result is allowed (on_hand >= reserved >= 0) is decided by the database's check
constraints at the moment of the write, not here: a check here could be stale by then.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import msgspec
from uuid_utils.compat import uuid7

from features.inventory.adjust_stock.schema import Adjustment
from shared.http.problems import invalid


class NewAdjustment(msgspec.Struct, frozen=True):
    id: UUID
    product_id: UUID
    delta: int
    reason: str
    created_at: datetime


def new_adjustment(product_id: UUID, data: Adjustment) -> NewAdjustment:
    if data.delta == 0:
        raise invalid("delta must not be zero.", pointer="#/delta")
    reason = data.reason.strip()
    if not reason:
        raise invalid("reason must contain a non-space character.", pointer="#/reason")
    return NewAdjustment(id=uuid7(), product_id=product_id, delta=data.delta, reason=reason,
                         created_at=datetime.now(UTC))
