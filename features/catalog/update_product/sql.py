from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from features.catalog.schema import PRODUCT_COLUMNS
from features.catalog.update_product.logic import Changes
from shared.db import Tx

# One statement: the version check and the write cannot be split by another writer. No row
# back means the product is missing or its version moved on; CURRENT_VERSION tells which.
UPDATE_PRODUCT = f"""
UPDATE catalog.products SET
    name = coalesce(%(name)s, name),
    description = CASE WHEN %(replace_description)s THEN %(description)s ELSE description END,
    price_cents = coalesce(%(price_cents)s, price_cents),
    category = coalesce(%(category)s, category),
    version = version + 1,
    updated_at = %(updated_at)s
WHERE id = %(id)s AND version = ANY(%(versions)s::integer[])
RETURNING {PRODUCT_COLUMNS}"""
CURRENT_VERSION = "SELECT version FROM catalog.products WHERE id = %s"


async def update_product(tx: Tx, product_id: UUID, versions: list[int],
                         changes: Changes) -> dict[str, Any] | None:
    cur = await tx.execute(UPDATE_PRODUCT, {
        **msgspec.structs.asdict(changes), "id": product_id, "versions": versions})
    return await cur.fetchone()


async def current_version(tx: Tx, product_id: UUID) -> int | None:
    cur = await tx.execute(CURRENT_VERSION, (product_id,))
    row = await cur.fetchone()
    return None if row is None else row["version"]
