"""GET /v1/users: every account, newest first (admin only)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get

from features.identity.list_users import sql
from features.identity.schema import User
from shared.auth.principal import admin_only
from shared.http.deps import Db
from shared.http.pagination import Cursor, Limit, Page, page_query, page_response
from shared.http.schema import problems


@get("/v1/users", guards=[admin_only], operation_id="listUsers", tags=["identity"],
     responses=problems(401, 403))
async def list_users(request: Request[Any, Any, Any], db: Db, limit: Limit = 20,
                     cursor: Cursor = None) -> Response[Page[User]]:
    """A page of users, newest first."""
    page = page_query(request, limit, cursor)
    async with db.connection() as conn:
        rows = await sql.list_users(conn, page)
    return page_response(request, page, msgspec.convert(rows, list[User]))
