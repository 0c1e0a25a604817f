"""POST /v1/users: anyone may register; the e-mail must be unused (409 otherwise)."""

from __future__ import annotations

import msgspec
from litestar import Response, post
from litestar.params import JSONBody
from psycopg.errors import UniqueViolation

from features.identity.events import UserRegistered
from features.identity.register_user import logic, sql
from features.identity.register_user.schema import RegisterUser
from features.identity.schema import User
from shared.auth.middleware import PUBLIC
from shared.auth.passwords import hash_password
from shared.db.events import publish
from shared.http.deps import Db
from shared.http.pacing import Paced
from shared.http.problems import conflict
from shared.http.schema import problems


async def create_user(db: Db, email: str, password: str, name: str, role: str) -> User:
    """Hash, insert and announce one user; shared by the HTTP route and the admin CLI."""
    user = logic.new_user(email, name, await hash_password(password), role)
    async with db.transaction() as tx:
        try:
            row = await sql.insert_user(tx, user)
        except UniqueViolation:
            raise conflict("A user with this email already exists.") from None
        await publish(tx, UserRegistered(user_id=user.id, email=user.email, name=user.name))
    return msgspec.convert(row, User)


@post("/v1/users", middleware=[Paced()], opt=PUBLIC, operation_id="registerUser", tags=["identity"],
      responses=problems(409))
async def register_user(data: JSONBody[RegisterUser], db: Db) -> Response[User]:
    """Register a customer account."""
    user = await create_user(db, data.email, data.password, data.name, role="customer")
    return Response(user, status_code=201, headers={"Location": f"/v1/users/{user.id}"})
