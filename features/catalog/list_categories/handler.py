"""GET /v1/categories: every category with its number of products, for anyone.

The counts are one indexed query, cached in each process for at most CATEGORY_CACHE_TTL
seconds and dropped in every process when a product is created or its category changes.
`Cache-Control: max-age` is what is left of that TTL, so no copy anywhere is older.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, get
from litestar.datastructures import ResponseHeader

from features.catalog.caches import CATEGORIES, CATEGORIES_KEY
from features.catalog.list_categories import logic, sql
from features.catalog.list_categories.schema import Categories
from shared.auth.middleware import PUBLIC
from shared.cache import read_through
from shared.http.deps import Cached, Db
from shared.http.schema import problems


@get("/v1/categories", opt=PUBLIC, operation_id="listCategories", tags=["catalog"],
     responses=problems(), response_headers=[ResponseHeader(
         name="Cache-Control", documentation_only=True,
         description="`public, max-age=N`: N is what is left of CATEGORY_CACHE_TTL.")])
async def list_categories(db: Db, caches: Cached) -> Response[Categories]:
    """Every category, with how many products it has, by category name."""

    async def load(_: Any) -> tuple[bytes, int]:
        async with db.connection() as conn:
            rows = await sql.count_by_category(conn)
        body = msgspec.json.encode(msgspec.convert({"items": rows}, Categories))
        return body, len(body)

    cache = caches(CATEGORIES)
    # Coalesced: on a big catalog the count reads the whole index; one at a time is enough.
    body = await read_through(cache, CATEGORIES_KEY, load, coalesce=True)
    return Response(body, media_type="application/json", headers={
        "Cache-Control": f"public, max-age={logic.max_age(cache.ttl, cache.age(CATEGORIES_KEY))}"})
