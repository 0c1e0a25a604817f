"""POST /v1/auth/token: e-mail and password in, a token pair out.

Wrong e-mail and wrong password are indistinguishable: same status, same body, and the same
argon2 work (an unknown e-mail is verified against a dummy hash). Attempts per (e-mail, client
address) are counted in PostgreSQL before the password is checked; a success clears them.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.params import JSONBody

from features.identity.issue_token import logic, sql
from features.identity.issue_token.schema import Login
from features.identity.tokens import NO_STORE, TokenPair, issue_pair
from shared.auth.middleware import PUBLIC
from shared.auth.passwords import verify_password
from shared.auth.principal import Principal
from shared.http.deps import AppSettings, Db, Tokens
from shared.http.problems import Problem, unauthenticated
from shared.http.ratelimit import client_ip
from shared.http.schema import problems


@post("/v1/auth/token", opt=PUBLIC, status_code=200, operation_id="issueToken", tags=["identity"],
      responses=problems(401))
async def issue_token(request: Request[Any, Any, Any], data: JSONBody[Login], db: Db,
                      tokens: Tokens, settings: AppSettings) -> Response[TokenPair]:
    """Log in: exchange e-mail and password for an access token and a refresh token."""
    rate, ip = settings.rate_limit_login, client_ip(request.scope)
    async with db.connection() as conn:
        attempt = await sql.record_attempt(conn, data.email, ip, rate.window)
        wait = logic.retry_after(attempt["failures"], attempt["window_started_at"],
                                 attempt["now"], rate)
        if wait is not None:
            raise Problem(429, "Too many failed logins for this account from your address.",
                          title="Too Many Requests", headers={
                              "Retry-After": str(wait),
                              "RateLimit-Policy": f'"login";q={rate.quota};w={rate.window}',
                              "RateLimit": f'"login";r=0;t={wait}'})
        user = await sql.find_user(conn, data.email)
    if not await verify_password(data.password, user["password_hash"] if user else None):
        raise unauthenticated("Invalid email or password.")
    assert user is not None
    principal = Principal(user_id=user["id"], role=user["role"])
    async with db.transaction() as tx:
        await sql.clear_attempts(tx, data.email, ip)
        pair = await issue_pair(tx, tokens, principal, ttl=settings.refresh_token_ttl)
    return Response(pair, headers=NO_STORE)
