"""GET /v1/orders/{order_id}/payments: an order's payments, newest first (owner or admin)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get
from litestar.params import FromPath

from features.payments.list_payments import logic, sql
from features.payments.schema import Payment
from shared.http.deps import Caller, Db
from shared.http.openapi import fed_by
from shared.http.pagination import Cursor, Limit, Page, page_query, page_response
from shared.http.schema import problems


@get("/v1/orders/{order_id:uuid}/payments", operation_id="listPayments", tags=["payments"],
     opt=fed_by(placeOrder={"order_id": "$response.body#/id"}),
     responses=problems(401, 404))
async def list_payments(request: Request[Any, Any, Any], order_id: FromPath[UUID], db: Db,
                        principal: Caller, limit: Limit = 20,
                        cursor: Cursor = None) -> Response[Page[Payment]]:
    """Every attempt to pay the order, failed ones included."""
    page = page_query(request, limit, cursor)
    async with db.connection() as conn:
        logic.check_visible(await sql.owner_of(conn, order_id), principal)
        rows = await sql.list_payments(conn, order_id, page)
    return page_response(request, page, msgspec.convert(rows, list[Payment]))
