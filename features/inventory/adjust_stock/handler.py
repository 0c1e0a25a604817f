"""POST /v1/inventory/{product_id}/adjustments: an admin adds or removes stock, with a reason.

Idempotent (Idempotency-Key required): a retried adjustment is applied once. 409 when it
would leave fewer on hand than orders have reserved.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Response
from litestar.params import FromPath, JSONBody
from psycopg.errors import CheckViolation

from features.inventory.adjust_stock import logic, sql
from features.inventory.adjust_stock.schema import Adjustment
from features.inventory.schema import StockLevel
from shared.auth.principal import admin_only
from shared.http.idempotency import IdempotentTx, idempotent_post
from shared.http.problems import conflict, not_found
from shared.http.schema import problems


@idempotent_post("/v1/inventory/{product_id:uuid}/adjustments", guards=[admin_only],
                 operation_id="adjustStock", tags=["inventory"],
                 responses=problems(401, 403, 404, 409))
async def adjust_stock(product_id: FromPath[UUID], data: JSONBody[Adjustment],
                       tx: IdempotentTx) -> Response[StockLevel]:
    """Add stock (positive delta) or write it off (negative delta)."""
    adjustment = logic.new_adjustment(product_id, data)
    try:
        row = await sql.apply_adjustment(tx, adjustment)
    except CheckViolation as exc:
        if exc.diag.constraint_name != "stock_covers_reserved":
            raise
        raise conflict("Not enough stock: the adjustment would leave fewer on hand than "
                       "are reserved for orders.") from None
    if row is None:
        raise not_found("Inventory does not know this product (yet).")
    return Response(StockLevel.from_row(row), status_code=201)
