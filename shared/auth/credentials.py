"""The hook through which a module teaches admission another kind of bearer credential.

The kernel verifies its own access tokens (PASETO, shared/auth/tokens.py). A credential that
lives in a module's tables (identity's API keys, `rk_...`) is verified by that module: its
manifest lists an `AuthenticatorFactory`, the app factory calls it once with the app state,
and admission hands every bearer credential that starts with the authenticator's `prefix` to
it. So there is still one place that turns a credential into a `Principal` (admission), the
kernel never imports a module, and no kernel code reads a module's schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from shared.auth.principal import Principal


class Authenticator(Protocol):
    #: Credentials starting with this (e.g. "rk_") are this authenticator's; no PASETO token
    #: starts with it ("v4.public."), so the two never compete for one credential.
    prefix: str

    async def authenticate(self, credential: str) -> Principal:
        """The credential's principal, or raise `shared.auth.tokens.InvalidToken`.

        Runs on every request that carries such a credential, before the rate limit: it must
        be about as cheap as a token check (cache what it looks up) and never log the secret.
        """
        ...


AuthenticatorFactory = Callable[[Any], Authenticator]  # called with the app's State
