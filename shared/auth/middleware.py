"""Every route is protected unless its handler says `opt={"public": True}`.

The middleware verifies the bearer token and puts the `Principal` on `scope["user"]`; role
checks are guards (`admin_only`) on the routes that need them.
"""

from __future__ import annotations

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from shared.auth.tokens import InvalidToken, TokenService
from shared.http.middleware import header
from shared.http.problems import unauthenticated

PUBLIC = {"public": True}


class BearerAuth(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]
    exclude_opt_key = "public"

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        tokens: TokenService = scope["litestar_app"].state.tokens
        scheme, _, token = header(scope, b"authorization").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated("Send an access token as `Authorization: Bearer <token>`.")
        try:
            scope["user"] = tokens.verify(token.strip())
        except InvalidToken:
            raise unauthenticated("The access token is invalid or has expired.") from None
        await next_app(scope, receive, send)
