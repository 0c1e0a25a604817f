"""POST /v1/orders: a customer orders products; the order starts `pending`.

Idempotent (Idempotency-Key required): a retry replays the first answer and places nothing.
The total is computed from ordering's own price projection at this moment, and OrderPlaced
is published in the same transaction: inventory then reserves every line or none, and the
order becomes `confirmed` or `rejected` a few milliseconds later (poll GET /v1/orders/{id}).
"""

from __future__ import annotations

from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.params import JSONBody

from features.ordering.events import OrderLine, OrderPlaced
from features.ordering.place_order import logic, sql
from features.ordering.place_order.schema import PlaceOrder
from features.ordering.schema import Order
from shared.db.events import publish
from shared.http.concurrency import ETAG, etag
from shared.http.deps import Caller
from shared.http.idempotency import IdempotentTx, idempotent_post
from shared.http.openapi import fed_by
from shared.http.pacing import Paced
from shared.http.schema import problems


@idempotent_post("/v1/orders", middleware=[Paced()], operation_id="placeOrder", tags=["ordering"],
                 # A product just created, or just given stock (which an order can take).
                 opt=fed_by(createProduct={"requestBody": {"items": [
                     {"product_id": "$response.body#/id", "quantity": 1}]}},
                            adjustStock={"requestBody": {"items": [
                                {"product_id": "$request.path.product_id", "quantity": 1}]}}),
                 responses=problems(401, 422),
                 response_headers=[ETAG, ResponseHeader(
                     name="Location", documentation_only=True,
                     description="The new order's URL: /v1/orders/{id}")])
async def place_order(data: JSONBody[PlaceOrder], tx: IdempotentTx,
                      principal: Caller) -> Response[Order]:
    """Place an order for up to 50 products."""
    logic.refuse_repeats(data.items)
    prices = await sql.prices_of(tx, [item.product_id for item in data.items])
    order = logic.price_order(principal.user_id, data.items, prices)
    await sql.insert_order(tx, order)
    await publish(tx, OrderPlaced(order_id=order.id, user_id=order.user_id, lines=[
        OrderLine(product_id=i.product_id, quantity=i.quantity) for i in order.items]))
    return Response(order, status_code=201, headers={
        "Location": f"/v1/orders/{order.id}", "ETag": etag(order.version)})
