"""Who is calling, and may they call this route?

Two steps, with rate limiting between them (see `shared/app.py`):
1. `Authenticate` verifies a bearer token when one is sent and puts the `Principal` on
   `scope["user"]`; it never rejects, so the rate limiter can key on the caller.
2. `RequireAuthentication` rejects with 401 every route not marked `opt={"public": True}`
   when there is no valid token, then runs the route's guards (`admin_only`) at once, so a
   caller without the role gets 403 before anything reads the body or the Idempotency-Key
   (a 400 about the body would describe a schema the caller may not use).
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from shared.auth.tokens import InvalidToken, TokenService
from shared.http.middleware import header
from shared.http.problems import unauthenticated

PUBLIC = {"public": True}


class Authenticate(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scheme, _, token = header(scope, b"authorization").partition(" ")
        if scheme:
            tokens: TokenService = scope["litestar_app"].state.tokens
            if scheme.lower() != "bearer" or not token.strip():
                scope["state"]["auth_error"] = "Use `Authorization: Bearer <token>`."
            else:
                try:
                    scope["user"] = tokens.verify(token.strip())
                except InvalidToken:
                    scope["state"]["auth_error"] = "The access token is invalid or has expired."
        await next_app(scope, receive, send)


class RequireAuthentication(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]
    exclude_opt_key = "public"
    # The OpenAPI document and its viewers are public, and so is OPTIONS, which only lists a
    # path's methods (no slice declares an OPTIONS handler; Litestar answers it): Litestar
    # builds those routes itself.
    should_bypass_for_scope = staticmethod(
        lambda scope: scope["path"].startswith("/schema") or scope["method"] == "OPTIONS")

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("user") is None:
            raise unauthenticated(scope["state"].get(
                "auth_error", "Send an access token as `Authorization: Bearer <token>`."))
        handler = scope["route_handler"]
        guards = handler.resolve_guards()
        if guards:  # Litestar runs them again before the handler: cheap, and they are pure
            connection = ASGIConnection(scope)
            for guard in guards:
                await guard(connection, handler)
        await next_app(scope, receive, send)
