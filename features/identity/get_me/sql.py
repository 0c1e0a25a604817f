from __future__ import annotations

from typing import Any
from uuid import UUID

from features.identity.schema import USER_COLUMNS
from shared.db import Database

# ANY(%s): reads of users that arrive together share one statement (shared/db/batching.py).
GET_USERS = f"SELECT {USER_COLUMNS} FROM identity.users WHERE id = ANY(%s)"


async def get_user(db: Database, user_id: UUID) -> dict[str, Any] | None:
    return await db.fetch_by_key(GET_USERS, user_id)
