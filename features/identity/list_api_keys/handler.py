"""GET /v1/api-keys: the caller's live and expired keys, newest first; never a secret."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get

from features.identity.list_api_keys import sql
from features.identity.list_api_keys.schema import ApiKey
from shared.http.deps import Caller, Db
from shared.http.pagination import Cursor, Limit, Page, page_query, page_response
from shared.http.schema import problems


@get("/v1/api-keys", operation_id="listApiKeys", tags=["identity"], responses=problems(401))
async def list_api_keys(request: Request[Any, Any, Any], db: Db, principal: Caller,
                        limit: Limit = 20, cursor: Cursor = None) -> Response[Page[ApiKey]]:
    """A page of your API keys, newest first."""
    # The owner is part of the cursor's scope: another user's cursor is a 400, not a page.
    page = page_query(request, limit, cursor, owner=principal.user_id)
    async with db.connection() as conn:
        rows = await sql.list_keys(conn, principal.user_id, page)
    return page_response(request, page, msgspec.convert(rows, list[ApiKey]))
