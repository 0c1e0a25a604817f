"""GET /v1/notifications: the caller's own notifications, newest first."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get

from features.notifications.list_notifications import sql
from features.notifications.schema import Notification
from shared.http.deps import Caller, Db
from shared.http.pagination import Cursor, Limit, Page, page_query, page_response
from shared.http.schema import problems


@get("/v1/notifications", operation_id="listNotifications", tags=["notifications"],
     responses=problems(401))
async def list_notifications(request: Request[Any, Any, Any], db: Db, principal: Caller,
                             limit: Limit = 20, cursor: Cursor = None,
                             ) -> Response[Page[Notification]]:
    """A page of the caller's notifications, newest first. Nobody sees another's, admins
    included: a notification is a message to one person."""
    # The cursor is bound to its user too: someone else's cursor is 400, like a forged one.
    page = page_query(request, limit, cursor, user=principal.user_id)
    async with db.connection() as conn:
        rows = await sql.list_notifications(conn, principal.user_id, page)
    return page_response(request, page, msgspec.convert(rows, list[Notification]))
