"""GET /v1/users/me: the caller's own account."""

from __future__ import annotations

import msgspec
from litestar import get

from features.identity.get_me import sql
from features.identity.schema import User
from shared.http.deps import Caller, Db
from shared.http.problems import not_found
from shared.http.schema import problems


@get("/v1/users/me", operation_id="getMe", tags=["identity"], responses=problems(401, 404))
async def get_me(db: Db, principal: Caller) -> User:
    """The authenticated user."""
    row = await sql.get_user(db, principal.user_id)
    if row is None:  # the account was deleted after the token was issued
        raise not_found("Your account no longer exists.")
    return msgspec.convert(row, User)
