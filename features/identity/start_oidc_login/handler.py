"""GET /v1/auth/oidc/{provider}/authorize: send the browser to the provider.

Answers 302 to the provider's authorization endpoint with `state`, `nonce` and a PKCE S256
challenge, and sets an HttpOnly cookie that binds the sign-in to this browser. The
`redirect_uri` must be one configured for the provider (`OIDC_<NAME>_REDIRECT_URIS`); it is
where the provider sends the browser back, normally this API's own callback.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import Cookie, ResponseHeader
from litestar.params import FromPath, Parameter
from litestar.response import Redirect

from features.identity.oidc import FAILURES, client_for, provider_problem
from features.identity.start_oidc_login import logic, sql
from features.identity.tokens import NO_STORE
from shared.auth.middleware import PUBLIC
from shared.http.deps import AppSettings, Db
from shared.http.problems import invalid
from shared.http.schema import problems


@get("/v1/auth/oidc/{provider:str}/authorize", opt=PUBLIC, status_code=302,
     operation_id="startOidcLogin", tags=["identity"], responses=problems(404, 503),
     # Litestar documents the redirect's `location` itself.
     response_headers=[ResponseHeader(
         name="Set-Cookie", documentation_only=True,
         description="rampart_oidc_{provider}: binds the sign-in to this browser (HttpOnly, "
         "SameSite=Lax, the callback's path, 10 minutes)")])
async def start_oidc_login(
    request: Request[Any, Any, Any], provider: FromPath[str], db: Db, settings: AppSettings,
    # Optional to Litestar so that a missing one gets this slice's 400 naming the parameter.
    redirect_uri: Annotated[str | None, Parameter(max_length=2000)] = None,
) -> Redirect:
    """Sign in with an OpenID Connect provider: redirects to it."""
    client = client_for(request.app.state, provider)
    if redirect_uri is None or redirect_uri not in client.provider.redirect_uris:
        raise invalid("redirect_uri is not one registered for this provider.",
                      parameter="redirect_uri")
    attempt = logic.new_attempt()
    try:
        url = await client.authorization_url(redirect_uri, state=attempt.state,
                                             nonce=attempt.nonce,
                                             code_verifier=attempt.code_verifier)
    except FAILURES as exc:
        raise provider_problem(provider, exc, "discovery") from None
    async with db.transaction() as tx:
        await sql.save_state(tx, {
            "state_hash": logic.digest(attempt.state),
            "browser_hash": logic.digest(attempt.browser), "provider": provider,
            "redirect_uri": redirect_uri, "nonce": attempt.nonce,
            "code_verifier": attempt.code_verifier, "seconds": logic.STATE_SECONDS})
    # SameSite=Lax: the provider's redirect back is a top-level GET, which Lax lets through.
    cookie = Cookie(key=logic.cookie_name(provider), value=attempt.browser,
                    path=logic.callback_path(provider), max_age=logic.STATE_SECONDS,
                    httponly=True, secure=settings.is_production, samesite="lax")
    return Redirect(url, status_code=302, headers=NO_STORE, cookies=[cookie])
