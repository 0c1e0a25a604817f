from __future__ import annotations

from typing import Any
from uuid import UUID

from features.catalog.schema import PRODUCT_COLUMNS
from shared.db import Database

# ANY(%s): reads of products that arrive together share one statement (shared/db/batching.py).
GET_PRODUCTS = f"SELECT {PRODUCT_COLUMNS} FROM catalog.products WHERE id = ANY(%s)"


async def get_product(db: Database, product_id: UUID) -> dict[str, Any] | None:
    return await db.fetch_by_key(GET_PRODUCTS, product_id)
