"""POST /v1/auth/refresh: spend a refresh token for a new pair in the same family."""

from __future__ import annotations

from litestar import Response, post
from litestar.params import JSONBody

from features.identity.refresh_token import logic, sql
from features.identity.refresh_token.schema import RefreshRequest
from features.identity.tokens import NO_STORE, TokenPair, hash_refresh_token, issue_pair
from shared.auth.middleware import PUBLIC
from shared.auth.principal import Principal
from shared.http.deps import AppSettings, Db, Tokens
from shared.http.problems import unauthenticated
from shared.http.schema import problems


@post("/v1/auth/refresh", opt=PUBLIC, status_code=200, operation_id="refreshToken",
      tags=["identity"], responses=problems(401))
async def refresh_token(data: JSONBody[RefreshRequest], db: Db, tokens: Tokens,
                        settings: AppSettings) -> Response[TokenPair]:
    """Rotate a refresh token. Reusing a spent one revokes its whole family."""
    token_hash = hash_refresh_token(data.refresh_token)
    async with db.transaction() as tx:
        spent = await sql.spend(tx, token_hash)
        known = None if spent else await sql.find(tx, token_hash)
        outcome = logic.judge(spent, known)
        if outcome is logic.Outcome.ROTATE:
            assert spent is not None
            principal = Principal(user_id=spent["user_id"], role=spent["role"])
            pair = await issue_pair(tx, tokens, principal, ttl=settings.refresh_token_ttl,
                                    family_id=spent["family_id"])
        elif outcome is logic.Outcome.REVOKE_FAMILY:
            assert known is not None
            await sql.revoke_family(tx, known["family_id"])
    # Raised after the transaction block so a family revocation commits.
    if outcome is not logic.Outcome.ROTATE:
        raise unauthenticated("The refresh token is invalid, expired or revoked.")
    return Response(pair, headers=NO_STORE)
