"""POST /v1/auth/logout: revoke the refresh-token family of this session.

Answers 204 whether or not the token was known: logout is idempotent and reveals nothing
about tokens that are not the caller's. The access token stays valid until it expires
(at most 15 minutes); that is the price of stateless access tokens.
"""

from __future__ import annotations

from litestar import post
from litestar.params import JSONBody

from features.identity.logout import sql
from features.identity.logout.schema import LogoutRequest
from features.identity.tokens import hash_refresh_token
from shared.http.deps import Caller, Db
from shared.http.schema import problems


@post("/v1/auth/logout", status_code=204, operation_id="logout", tags=["identity"],
      responses=problems(401))
async def logout(data: JSONBody[LogoutRequest], db: Db, principal: Caller) -> None:
    """End a session: its refresh token and every token rotated from it stop working."""
    async with db.transaction() as tx:
        await sql.revoke_own_family(tx, hash_refresh_token(data.refresh_token), principal.user_id)
