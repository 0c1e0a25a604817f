"""GET /v1/inventory/{product_id}: how many of a product are on hand, reserved, available.

404 until inventory has handled the product's ProductCreated event (normally milliseconds).
"""

from __future__ import annotations

from uuid import UUID

from litestar import get
from litestar.params import FromPath

from features.inventory.get_stock_level import sql
from features.inventory.schema import StockLevel
from shared.auth.middleware import PUBLIC
from shared.http.deps import Db
from shared.http.openapi import fed_by
from shared.http.problems import not_found
from shared.http.schema import problems


@get("/v1/inventory/{product_id:uuid}", operation_id="getStockLevel", tags=["inventory"],
     opt={**PUBLIC, **fed_by(createProduct={"product_id": "$response.body#/id"})},
     responses=problems(404))
async def get_stock_level(product_id: FromPath[UUID], db: Db) -> StockLevel:
    """The stock level of one product."""
    row = await sql.get_stock_level(db, product_id)
    if row is None:
        raise not_found("Inventory does not know this product (yet).")
    return StockLevel.from_row(row)
