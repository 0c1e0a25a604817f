"""GET /v1/orders: the caller's orders, newest first (an admin sees everyone's), optionally
of one status. The cursor is bound to the status filter and to the caller."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.params import Parameter

from features.ordering.lifecycle import Status
from features.ordering.list_orders import sql
from features.ordering.schema import Order
from shared.http.deps import Caller, Db
from shared.http.pagination import Cursor, Limit, Page, page_query, page_response
from shared.http.schema import problems

StatusFilter = Annotated[Status | None, Parameter(description="Only orders in this status.")]


@get("/v1/orders", operation_id="listOrders", tags=["ordering"], responses=problems(401))
async def list_orders(request: Request[Any, Any, Any], db: Db, principal: Caller,
                      limit: Limit = 20, cursor: Cursor = None,
                      status: StatusFilter = None) -> Response[Page[Order]]:
    """A page of your orders (everyone's, for an admin), newest first."""
    owner = None if principal.is_admin else principal.user_id
    page = page_query(request, limit, cursor, status=status, owner=owner or "*")
    async with db.connection() as conn:
        rows = await sql.list_orders(conn, page, owner, status)
    return page_response(request, page, msgspec.convert(rows, list[Order]))
