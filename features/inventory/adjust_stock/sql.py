from __future__ import annotations

from typing import Any

import msgspec

from features.inventory.adjust_stock.logic import NewAdjustment
from features.inventory.schema import STOCK_COLUMNS
from shared.db import Tx

# The row lock serialises concurrent adjustments; each one re-checks on_hand >= reserved on
# the row as the previous one left it, so the loser fails the constraint, never goes negative.
# The audit row is written only when the stock row exists and changed.
APPLY_ADJUSTMENT = f"""
WITH adjusted AS (
    UPDATE inventory.stock_levels
    SET on_hand = on_hand + %(delta)s, updated_at = %(created_at)s
    WHERE product_id = %(product_id)s
    RETURNING {STOCK_COLUMNS}
), logged AS (
    INSERT INTO inventory.adjustments (id, product_id, delta, reason, created_at)
    SELECT %(id)s, product_id, %(delta)s, %(reason)s, %(created_at)s FROM adjusted
)
SELECT {STOCK_COLUMNS} FROM adjusted"""


async def apply_adjustment(tx: Tx, adjustment: NewAdjustment) -> dict[str, Any] | None:
    """None when inventory does not know the product. Raises psycopg.errors.CheckViolation
    (constraint `stock_covers_reserved`) when fewer would be on hand than are reserved."""
    cur = await tx.execute(APPLY_ADJUSTMENT, msgspec.structs.asdict(adjustment))
    return await cur.fetchone()
