"""DELETE /v1/api-keys/{key_id}: revoke one of your keys (204; anyone else's, 404).

This process refuses the key from the next request on; every other process within
`API_KEY_CACHE_SECONDS` (features/identity/api_keys.py). A key may revoke itself.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, delete
from litestar.params import FromPath

from features.identity.api_keys import STATE_KEY, ApiKeys
from features.identity.revoke_api_key import sql
from shared.http.deps import Caller, Db
from shared.http.openapi import fed_by
from shared.http.problems import not_found
from shared.http.schema import problems


@delete("/v1/api-keys/{key_id:uuid}", status_code=204, operation_id="revokeApiKey",
        opt=fed_by(createApiKey={"key_id": "$response.body#/id"}),
        tags=["identity"], responses=problems(401, 404))
async def revoke_api_key(request: Request[Any, Any, Any], key_id: FromPath[UUID], db: Db,
                         principal: Caller) -> None:
    """Revoke an API key: it stops authenticating."""
    async with db.transaction() as tx:
        revoked = await sql.revoke(tx, key_id, principal.user_id)
    if not revoked:
        raise not_found("No such API key.")
    keys: ApiKeys = request.app.state[STATE_KEY]
    keys.forget(key_id)
