"""GET /v1/users/{user_id}: one account, for its owner or an admin (404 for anyone else).

The `Location` that registration returns points here. A malformed id is a 404 (routing).
"""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import get
from litestar.params import FromPath

from features.identity.get_me import sql
from features.identity.schema import User
from shared.http.deps import Caller, Db
from shared.http.openapi import fed_by
from shared.http.problems import not_found
from shared.http.schema import problems


@get("/v1/users/{user_id:uuid}", operation_id="getUser", tags=["identity"],
     opt=fed_by(registerUser={"user_id": "$response.body#/id"}),
     responses=problems(401, 404))
async def get_user(user_id: FromPath[UUID], db: Db, principal: Caller) -> User:
    """One user: yourself, or anyone if you are an admin."""
    if user_id != principal.user_id and not principal.is_admin:
        raise not_found("No such user.")
    row = await sql.get_user(db, user_id)
    if row is None:
        raise not_found("No such user.")
    return msgspec.convert(row, User)
