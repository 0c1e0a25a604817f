"""GET /v1/products: the catalog, newest first, optionally one category; for anyone."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import Parameter

from features.catalog.list_products import sql
from features.catalog.schema import Product, trimmed
from shared.auth.middleware import PUBLIC
from shared.http.deps import Db
from shared.http.pagination import Cursor, Limit, Page, page_query, page_response
from shared.http.schema import SAYS_SOMETHING, problems

CategoryFilter = Annotated[str | None, Parameter(
    min_length=1, max_length=64, pattern=SAYS_SOMETHING["pattern"],
    description="Only products of this category (exact match, ignoring surrounding spaces).")]


@get("/v1/products", opt=PUBLIC, operation_id="listProducts", tags=["catalog"],
     responses=problems())
async def list_products(request: Request[Any, Any, Any], db: Db, limit: Limit = 20,
                        cursor: Cursor = None,
                        category: CategoryFilter = None) -> Response[Page[Product]]:
    """A page of products, newest first."""
    if category is not None:
        category = trimmed(category, "category", parameter=True)
    page = page_query(request, limit, cursor, category=category)
    async with db.connection() as conn:
        rows = await sql.list_products(conn, page, category)
    return page_response(request, page, rows)
