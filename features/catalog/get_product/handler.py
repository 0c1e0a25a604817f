"""GET /v1/products/{product_id}: one product, for anyone, with its ETag.

Served from this process's product cache when it holds the product, else read (batched with
the reads arriving together) and cached; writers drop the entry in every process when they
commit (features/catalog/caches.py). Either way the answer is the same bytes and headers.
A client holding the current ETag sends it as If-None-Match and gets an empty 304: the request
envelope answers that for every response with an ETag (shared/http/concurrency.py).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Response, get
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath

from features.catalog.caches import PRODUCTS
from features.catalog.get_product import sql
from features.catalog.schema import Product
from shared.auth.middleware import PUBLIC
from shared.cache import read_through
from shared.db import Database
from shared.http.concurrency import ETAG, ConditionalRead, etag
from shared.http.deps import Cached, Db
from shared.http.openapi import fed_by
from shared.http.problems import not_found
from shared.http.schema import problems

# Any cache (a browser, a CDN) may keep it, and must revalidate with the ETag before each use:
# a 304 costs no body, and no cache outside serves an old price.
CACHE_CONTROL = "public, no-cache"
_encode = msgspec.json.Encoder().encode


@get("/v1/products/{product_id:uuid}", operation_id="getProduct", tags=["catalog"],
     opt={**PUBLIC, **fed_by(createProduct={"product_id": "$response.body#/id"})},
     operation_class=ConditionalRead, responses=problems(404),
     response_headers=[ETAG, ResponseHeader(name="Cache-Control", documentation_only=True,
                                            description=f"`{CACHE_CONTROL}`")])
async def get_product(product_id: FromPath[UUID], db: Db, caches: Cached
                      ) -> Response[Product]:
    """One product."""

    async def load(key: Any) -> tuple[tuple[bytes, str], int] | None:
        return await _load(db, key)

    found = await read_through(caches(PRODUCTS), product_id, load)
    if found is None:
        raise not_found("No such product.")
    body, tag = found
    return Response(body, media_type="application/json",
                    headers={"ETag": tag, "Cache-Control": CACHE_CONTROL})


async def _load(db: Database, product_id: UUID) -> tuple[tuple[bytes, str], int] | None:
    row = await sql.get_product(db, product_id)
    if row is None:
        return None
    body = _encode(msgspec.convert(row, Product))
    return (body, etag(row["version"])), len(body) + 200  # the entry's own overhead, roughly
