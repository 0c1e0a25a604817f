from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from shared.http.schema import Body


class Login(Body, frozen=True):
    # Only bounded here: a wrong-shaped e-mail is just a wrong e-mail (same 401 as any other).
    email: Annotated[str, Meta(min_length=1, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=128)]
