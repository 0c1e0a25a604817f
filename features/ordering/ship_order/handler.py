"""POST /v1/orders/{order_id}/ship: an admin ships a paid order; inventory turns its
reservation into a shipment (on_hand and reserved both fall by its quantities).

Only from `paid`: 409 otherwise, a shipped order included (a shipment happens once).
"""

from __future__ import annotations

from uuid import UUID

from litestar import Response, post
from litestar.params import FromPath

from features.ordering.events import OrderLine, OrderShipped
from features.ordering.move import move
from features.ordering.schema import Order
from shared.auth.principal import admin_only
from shared.db.events import publish
from shared.http.concurrency import ETAG, etag
from shared.http.deps import Caller, Db
from shared.http.openapi import fed_by
from shared.http.pacing import Paced
from shared.http.schema import problems


@post("/v1/orders/{order_id:uuid}/ship", middleware=[Paced()], status_code=200, guards=[admin_only],
      operation_id="shipOrder", tags=["ordering"],
      # Paid is what it takes: the payment's order is the one to ship next.
      opt=fed_by(placeOrder={"order_id": "$response.body#/id"},
                 payOrder={"order_id": "$request.path.order_id"}),
      responses=problems(401, 403, 404, 409), response_headers=[ETAG])
async def ship_order(order_id: FromPath[UUID], db: Db, principal: Caller) -> Response[Order]:
    """Mark a paid order as shipped."""
    async with db.transaction() as tx:
        order, moved = await move(tx, principal, order_id, "ship")
        if moved:
            await publish(tx, OrderShipped(order_id=order.id, user_id=order.user_id, lines=[
                OrderLine(product_id=i.product_id, quantity=i.quantity) for i in order.items]))
    return Response(order, headers={"ETag": etag(order.version)})
