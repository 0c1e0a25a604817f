"""GET /v1/orders/{order_id}: one order, for its owner or an admin (404 for anyone else).

Poll it after placing an order: `pending` becomes `confirmed` or `rejected` once inventory has
answered. Sends the order's ETag; If-None-Match with it gets an empty 304.
"""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Response, get
from litestar.params import FromPath

from features.ordering.access import visible_to
from features.ordering.orders_sql import GET_ORDERS
from features.ordering.schema import Order
from shared.http.concurrency import ETAG, ConditionalRead, etag
from shared.http.deps import Caller, Db
from shared.http.openapi import fed_by
from shared.http.schema import problems


@get("/v1/orders/{order_id:uuid}", operation_id="getOrder", tags=["ordering"],
     opt=fed_by(placeOrder={"order_id": "$response.body#/id"}),
     operation_class=ConditionalRead, responses=problems(401, 404), response_headers=[ETAG])
async def get_order(order_id: FromPath[UUID], db: Db, principal: Caller) -> Response[Order]:
    """One of your orders (any order, for an admin)."""
    row = visible_to(principal, await db.fetch_by_key(GET_ORDERS, order_id))
    return Response(msgspec.convert(row, Order), headers={"ETag": etag(row["version"])})
