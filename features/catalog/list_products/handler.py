"""GET /v1/products: the catalog, newest first, optionally one category; for anyone.

Each page is served from this process's page cache when it holds it, keyed by the exact query
string (a cursor in it was checked when the page was first read). A create or an update of any
product drops every page in every process when it commits (features/catalog/caches.py), so a
page is never older than the last write this process was told of.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.params import Parameter

from features.catalog.caches import PAGES
from features.catalog.list_products import sql
from features.catalog.schema import Product, trimmed
from shared.auth.middleware import PUBLIC
from shared.cache import read_through
from shared.http.deps import Cached, Db
from shared.http.pagination import Cursor, Limit, Page, page_of, page_query
from shared.http.schema import SAYS_SOMETHING, problems

CategoryFilter = Annotated[str | None, Parameter(
    min_length=1, max_length=64, pattern=SAYS_SOMETHING["pattern"],
    description="Only products of this category (exact match, ignoring surrounding spaces).")]
_encode = msgspec.json.Encoder().encode


@get("/v1/products", opt=PUBLIC, operation_id="listProducts", tags=["catalog"],
     responses=problems())
async def list_products(request: Request[Any, Any, Any], db: Db, caches: Cached,
                        limit: Limit = 20, cursor: Cursor = None,
                        category: CategoryFilter = None) -> Response[Page[Product]]:
    """A page of products, newest first."""

    async def load(_: Any) -> tuple[tuple[bytes, dict[str, str]], int]:
        trimmed_category = None if category is None else trimmed(category, "category",
                                                                 parameter=True)
        page = page_query(request, limit, cursor, category=trimmed_category)
        async with db.connection() as conn:
            rows = await sql.list_products(conn, page, trimmed_category)
        body, links = page_of(request, page, rows)
        encoded = _encode(body)
        return (encoded, links), len(encoded) + 300  # the entry's own overhead, roughly

    query = request.scope["query_string"].decode("latin-1")
    body, links = await read_through(caches(PAGES), query, load)
    return Response(body, media_type="application/json", headers=links)
