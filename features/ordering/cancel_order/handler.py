"""POST /v1/orders/{order_id}/cancel: the owner (or an admin) cancels a pending or confirmed
order; inventory then releases what it holds for it.

Safe to retry: cancelling a cancelled order answers 200 with the order unchanged and publishes
nothing. From rejected, paid or shipped it is 409. Someone else's order is 404.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Response, post
from litestar.params import FromPath

from features.ordering.events import OrderCancelled
from features.ordering.move import move
from features.ordering.schema import Order
from shared.db.events import publish
from shared.http.concurrency import ETAG, etag
from shared.http.deps import Caller, Db
from shared.http.openapi import fed_by
from shared.http.pacing import Paced
from shared.http.schema import problems


@post("/v1/orders/{order_id:uuid}/cancel", middleware=[Paced()], status_code=200,
      operation_id="cancelOrder",
      opt=fed_by(placeOrder={"order_id": "$response.body#/id"}),
      tags=["ordering"], responses=problems(401, 404, 409), response_headers=[ETAG])
async def cancel_order(order_id: FromPath[UUID], db: Db, principal: Caller) -> Response[Order]:
    """Cancel one of your orders before it is paid."""
    async with db.transaction() as tx:
        order, moved = await move(tx, principal, order_id, "cancel")
        if moved:
            await publish(tx, OrderCancelled(order_id=order.id, user_id=order.user_id))
    return Response(order, headers={"ETag": etag(order.version)})
