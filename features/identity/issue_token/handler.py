"""POST /v1/auth/token: e-mail and password in, a token pair out.

Wrong e-mail and wrong password are indistinguishable: same status, same body, and the same
argon2 work (an unknown e-mail is verified against a dummy hash). Failed logins are limited in
PostgreSQL per (e-mail, client address) and per client address (logic.py): an attempt is
reserved before its password is checked, so concurrent guesses cannot slip past the limit,
and one that finds the budget taken only by attempts in flight waits for them to be judged,
so a right password is refused only once `quota` attempts have really failed.
"""

from __future__ import annotations

import asyncio
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
from shared.settings import Rate

# How long an attempt waits for the others in flight to be judged (an argon2 check takes
# ~30 ms), how often it asks, and how long a reservation outlives a server that died.
WAIT_FOR, WAIT_STEP, HOLD_SECONDS = 3.0, 0.05, 10


@post("/v1/auth/token", opt=PUBLIC, status_code=200, operation_id="issueToken", tags=["identity"],
      responses=problems(401))
async def issue_token(request: Request[Any, Any, Any], data: JSONBody[Login], db: Db,
                      tokens: Tokens, settings: AppSettings) -> Response[TokenPair]:
    """Log in: exchange e-mail and password for an access token and a refresh token."""
    ip = client_ip(request.scope)
    user = await _admit(db, data.email, ip, settings.rate_limit_login,
                        settings.rate_limit_login_address)
    if not await verify_password(data.password, user["password_hash"] if user else None):
        async with db.transaction() as tx:
            await sql.failed(tx, data.email, ip, settings.rate_limit_login_address.window)
        raise unauthenticated("Invalid email or password.")
    assert user is not None
    principal = Principal(user_id=user["id"], role=user["role"])
    async with db.transaction() as tx:
        await sql.succeeded(tx, data.email, ip)
        pair = await issue_pair(tx, tokens, principal, ttl=settings.refresh_token_ttl)
    return Response(pair, headers=NO_STORE)


async def _admit(db: Db, email: str, ip: str, rate: Rate,
                 per_address: Rate) -> dict[str, Any] | None:
    """Reserve this attempt (and return the user, or None), or raise 429."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FOR
    while True:
        async with db.transaction() as tx:
            address = await sql.address_failures(tx, ip)
            if address is not None:
                refused = logic.admit(logic.Counts(address["failures"],
                                                   address["window_started_at"], 0, None),
                                      address["now"], per_address)
                if isinstance(refused, int):
                    raise _too_many("Too many failed logins from your address.",
                                    "login-address", per_address, refused)
            row = await sql.lock_counts(tx, email, ip)
            counts = logic.Counts(row["failures"], row["window_started_at"], row["in_flight"],
                                  row["in_flight_until"])
            decision = logic.admit(counts, row["now"], rate)
            if decision == "go":
                now = logic.current(counts, row["now"], rate)
                await sql.reserve(tx, email, ip, failures=now.failures,
                                  started=now.window_started_at, in_flight=now.in_flight,
                                  hold=HOLD_SECONDS)
                return await sql.find_user(tx, email)
        if isinstance(decision, int):
            raise _too_many("Too many failed logins for this account from your address.",
                            "login", rate, decision)
        if loop.time() > deadline:  # attempts still in flight after seconds: a flood
            raise _too_many("Too many logins at once for this account.", "login", rate, 1)
        await asyncio.sleep(WAIT_STEP)


def _too_many(detail: str, policy: str, rate: Rate, wait: int) -> Problem:
    return Problem(429, detail, title="Too Many Requests", headers={
        "Retry-After": str(wait), "RateLimit-Policy": f'"{policy}";q={rate.quota};w={rate.window}',
        "RateLimit": f'"{policy}";r=0;t={wait}'})
