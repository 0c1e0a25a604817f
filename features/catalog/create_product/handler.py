"""POST /v1/products: an admin adds a product; the SKU must be unused (409 otherwise).

Idempotent: a retry with the same Idempotency-Key replays the first answer and creates nothing.
A new product changes the category counts: their cache is dropped in every process on commit.
"""

from __future__ import annotations

from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.params import JSONBody
from psycopg.errors import UniqueViolation

from features.catalog.caches import CATEGORIES, CATEGORIES_KEY, PAGES
from features.catalog.create_product import logic, sql
from features.catalog.create_product.schema import NewProduct
from features.catalog.events import ProductCreated
from features.catalog.schema import Product
from shared.auth.principal import admin_only
from shared.cache import EVERY_KEY
from shared.db.events import publish
from shared.http.concurrency import ETAG, etag
from shared.http.deps import Cached
from shared.http.idempotency import IdempotentTx, idempotent_post
from shared.http.pacing import Paced
from shared.http.problems import conflict
from shared.http.schema import problems


@idempotent_post("/v1/products", middleware=[Paced()], guards=[admin_only],
                 operation_id="createProduct",
                 tags=["catalog"], responses=problems(401, 403, 409),
                 response_headers=[ETAG, ResponseHeader(
                     name="Location", documentation_only=True,
                     description="The new product's URL: /v1/products/{id}")])
async def create_product(data: JSONBody[NewProduct], tx: IdempotentTx,
                         caches: Cached) -> Response[Product]:
    """Add a product to the catalog."""
    product = logic.new_product(data)
    try:
        await sql.insert_product(tx, product)
    except UniqueViolation:
        raise conflict("A product with this SKU already exists.") from None
    await publish(tx, ProductCreated(
        product_id=product.id, sku=product.sku, name=product.name,
        description=product.description, price_cents=product.price_cents,
        currency=product.currency, category=product.category))
    await caches.invalidate(tx, CATEGORIES, CATEGORIES_KEY)
    await caches.invalidate(tx, PAGES, EVERY_KEY)
    return Response(product, status_code=201, headers={
        "Location": f"/v1/products/{product.id}", "ETag": etag(product.version)})
