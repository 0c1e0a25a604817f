"""GET /v1/auth/oidc/{provider}/callback: finish a sign-in and answer a token pair.

The state must be the one this browser started (its cookie) and unused; the code is
exchanged with the PKCE verifier, the ID token verified (features/identity/oidc.py), and
then: a linked identity signs in; a new subject with a verified e-mail links to the account
with that e-mail only if that account has no password (409 otherwise: never a silent link);
with no such account a customer is created. The answer is the same JSON token pair as
`POST /v1/auth/token`, never cached.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from litestar import Request, Response, get
from litestar.params import FromPath, Parameter, QueryParameter
from psycopg.errors import UniqueViolation
from uuid_utils.compat import uuid7

from features.identity.events import UserRegistered
from features.identity.finish_oidc_login import logic, sql
from features.identity.oidc import FAILURES, ProviderRefused, client_for, provider_problem
from features.identity.start_oidc_login.logic import callback_path, cookie_name, digest
from features.identity.tokens import NO_STORE, TokenPair, issue_pair
from shared.auth.middleware import PUBLIC
from shared.auth.principal import Principal
from shared.db import Tx
from shared.db.events import publish
from shared.http.deps import AppSettings, Db, Tokens
from shared.http.problems import Problem, invalid
from shared.http.schema import problems

log = structlog.get_logger("rampart.identity.oidc")
Param = Annotated[str | None, Parameter(max_length=2048)]
# `state` is a name Litestar keeps for the app state: the query parameter gets another here.
StateParam = Annotated[str | None, QueryParameter(name="state", max_length=2048)]


@get("/v1/auth/oidc/{provider:str}/callback", opt=PUBLIC, operation_id="finishOidcLogin",
     tags=["identity"], responses=problems(401, 404, 409, 422, 503))
async def finish_oidc_login(request: Request[Any, Any, Any], provider: FromPath[str], db: Db,
                            tokens: Tokens, settings: AppSettings, code: Param = None,
                            oauth_state: StateParam = None,
                            error: Param = None) -> Response[TokenPair]:
    """Where the provider sends the browser back: answers an access and a refresh token."""
    client = client_for(request.app.state, provider)
    browser = request.cookies.get(cookie_name(provider))
    attempt = None
    if oauth_state and browser:
        async with db.transaction() as tx:
            attempt = await sql.take_state(tx, digest(oauth_state), digest(browser), provider)
    if error is not None:
        # The person declined, or the provider failed the request. Nothing is granted, so
        # this is told even without a valid state (some providers leave it out); a valid
        # one is spent all the same.
        raise provider_problem(provider, ProviderRefused(error[:64]), "authorization")
    if attempt is None:
        log.warning("oidc_state_rejected", provider=provider, cookie=browser is not None)
        raise invalid("The sign-in state is unknown, already used, expired, or was started in "
                      "another browser; start the sign-in again.", parameter="state")
    try:
        if not code:
            raise invalid("code is required.", parameter="code")
        id_token = await client.exchange(code, redirect_uri=attempt["redirect_uri"],
                                         code_verifier=attempt["code_verifier"])
        claims = await client.verify(id_token, nonce=attempt["nonce"])
    except FAILURES as exc:
        raise provider_problem(provider, exc, "callback") from None
    for attempt_number in range(2):
        try:
            async with db.transaction() as tx:
                principal = await account_for(tx, provider, claims)
                pair = await issue_pair(tx, tokens, principal, ttl=settings.refresh_token_ttl)
            break
        except Problem as exc:  # unverified e-mail, or an account that a sign-in may not take
            log.warning("oidc_sign_in_refused", provider=provider, status=exc.status)
            raise
        except UniqueViolation:
            # A concurrent sign-in of the same person made the account or the link first:
            # the second look finds it.
            if attempt_number == 1:
                raise
    log.info("oidc_signed_in", provider=provider, user_id=str(principal.user_id))
    response = Response(pair, headers=NO_STORE)
    response.delete_cookie(cookie_name(provider), path=callback_path(provider))
    return response


async def account_for(tx: Tx, provider: str, claims: dict[str, Any]) -> Principal:
    subject = str(claims["sub"])
    linked = await sql.find_linked(tx, provider, subject)
    email = logic.verified_email(claims)
    account = None if linked or email is None else await sql.find_by_email(tx, email)
    decision = logic.decide(linked is not None, email, account)
    if decision == "sign_in":
        assert linked is not None
        return Principal(user_id=linked["id"], role=linked["role"])
    assert email is not None
    if decision == "create":
        name = logic.display_name(claims, email)
        account = await sql.insert_user(tx, uuid7(), email, name)
        await publish(tx, UserRegistered(user_id=account["id"], email=email, name=name))
    assert account is not None
    await sql.link(tx, provider, subject, account["id"], email)
    log.info("oidc_identity_linked", provider=provider, user_id=str(account["id"]),
             created=decision == "create")
    return Principal(user_id=account["id"], role=account["role"])
