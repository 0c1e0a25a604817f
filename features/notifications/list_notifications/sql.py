from __future__ import annotations

from typing import Any
from uuid import UUID

from features.notifications.schema import NOTIFICATION_COLUMNS
from shared.db import Tx
from shared.http.pagination import PageQuery

# Keyset on (user_id, id): newest first, a range of the notifications_user_id index. Two
# statements for the reason given in identity's list_users/sql.py.
FIRST_PAGE = (f"SELECT {NOTIFICATION_COLUMNS} FROM notifications.notifications"
              " WHERE user_id = %s ORDER BY id DESC LIMIT %s")
NEXT_PAGE = (f"SELECT {NOTIFICATION_COLUMNS} FROM notifications.notifications"
             " WHERE user_id = %s AND id < %s ORDER BY id DESC LIMIT %s")


async def list_notifications(conn: Tx, user_id: UUID, page: PageQuery) -> list[dict[str, Any]]:
    if page.after is None:
        cur = await conn.execute(FIRST_PAGE, (user_id, page.fetch))
    else:
        cur = await conn.execute(NEXT_PAGE, (user_id, page.after, page.fetch))
    return await cur.fetchall()
