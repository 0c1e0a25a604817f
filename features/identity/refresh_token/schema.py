from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from shared.http.schema import Body


class RefreshRequest(Body, frozen=True):
    refresh_token: Annotated[str, Meta(min_length=1, max_length=512)]
