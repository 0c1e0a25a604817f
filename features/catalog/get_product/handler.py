"""GET /v1/products/{product_id}: one product, for anyone, with its ETag.

A client holding the current ETag sends it as If-None-Match and gets an empty 304: the request
envelope answers that for every response with an ETag (shared/http/concurrency.py).
"""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Response, get
from litestar.params import FromPath

from features.catalog.get_product import sql
from features.catalog.schema import Product
from shared.auth.middleware import PUBLIC
from shared.http.concurrency import ETAG, ConditionalRead, etag
from shared.http.deps import Db
from shared.http.problems import not_found
from shared.http.schema import problems


@get("/v1/products/{product_id:uuid}", opt=PUBLIC, operation_id="getProduct",
     tags=["catalog"], operation_class=ConditionalRead, responses=problems(404),
     response_headers=[ETAG])
async def get_product(product_id: FromPath[UUID], db: Db) -> Response[Product]:
    """One product."""
    row = await sql.get_product(db, product_id)
    if row is None:
        raise not_found("No such product.")
    return Response(msgspec.convert(row, Product), headers={"ETag": etag(row["version"])})
