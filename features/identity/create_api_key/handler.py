"""POST /v1/api-keys: a key for the caller, with at most the caller's role.

The secret is in this 201 only (`Cache-Control: no-store`): the database keeps its SHA-256
and a public prefix, so nobody, the owner included, can read it again.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from litestar import Response, post
from litestar.params import JSONBody
from psycopg.errors import UniqueViolation
from uuid_utils.compat import uuid7

from features.identity.api_keys import hash_secret, new_secret, public_prefix
from features.identity.create_api_key import logic, sql
from features.identity.create_api_key.schema import ApiKeyCreated, CreateApiKey
from features.identity.tokens import NO_STORE
from shared.http.deps import Caller, Db
from shared.http.problems import Problem
from shared.http.schema import problems

ATTEMPTS = 3  # a prefix collision is a 1 in 2^48 event; three in a row is a broken generator


@post("/v1/api-keys", operation_id="createApiKey", tags=["identity"],
      responses=problems(401, 403, 422))
async def create_api_key(data: JSONBody[CreateApiKey], db: Db,
                         principal: Caller) -> Response[ApiKeyCreated]:
    """Create an API key for programs; its secret is shown in this answer only."""
    role = logic.key_role(principal, data.role)
    name = logic.key_name(data.name)
    logic.check_expiry(data.expires_at, datetime.now(UTC))
    for attempt in range(ATTEMPTS):
        secret = new_secret()
        try:
            async with db.transaction() as tx:
                row = await sql.insert_key(tx, {
                    "id": uuid7(), "user_id": principal.user_id, "name": name, "role": role,
                    "prefix": public_prefix(secret), "key_hash": hash_secret(secret),
                    "expires_at": data.expires_at})
            break
        except UniqueViolation:
            if attempt == ATTEMPTS - 1:
                raise
    if row is None:  # the owner is gone, or no longer has the role asked for
        raise Problem(403, f"A key cannot have a role above yours ({role} was asked).")
    key = msgspec.convert({**row, "secret": secret}, ApiKeyCreated)
    return Response(key, status_code=201, headers=NO_STORE)
