"""POST /v1/inventory/{product_id}/adjustments: an admin adds or removes stock, with a reason.

Idempotent (Idempotency-Key required): a retried adjustment is applied once. 409 when it
would leave fewer on hand than orders have reserved. The 201 carries the stock level, named by
`Content-Location`, not a `Location`: adjustments are not resources one can GET.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath, JSONBody
from psycopg.errors import CheckViolation

from features.inventory.adjust_stock import logic, sql
from features.inventory.adjust_stock.schema import Adjustment
from features.inventory.schema import StockLevel
from shared.auth.principal import admin_only
from shared.http.idempotency import IdempotentTx, idempotent_post
from shared.http.openapi import fed_by
from shared.http.problems import conflict, not_found
from shared.http.schema import problems


@idempotent_post("/v1/inventory/{product_id:uuid}/adjustments", guards=[admin_only],
                 operation_id="adjustStock", tags=["inventory"],
                 opt=fed_by(createProduct={"product_id": "$response.body#/id"}),
                 responses=problems(401, 403, 404, 409),
                 response_headers=[ResponseHeader(
                     name="Content-Location", documentation_only=True,
                     description="The stock level this body shows: /v1/inventory/{product_id}")])
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
    # The adjustment has no URL of its own; the body is the stock level it changed, and
    # Content-Location says so (RFC 9110 8.7).
    return Response(StockLevel.from_row(row), status_code=201,
                    headers={"Content-Location": f"/v1/inventory/{product_id}"})
