"""Cursor pagination: keyset on the UUIDv7 id, newest first, opaque signed cursors.

A cursor is `base64url(json{after, scope}).hmac`: `after` is the last id of the previous page,
`scope` binds it to one endpoint and filter set, so it cannot be replayed against another query,
and the HMAC means it cannot be forged. Tampered, foreign or malformed cursors answer 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from litestar import Request, Response
from litestar.params import Parameter

from shared.http.problems import invalid

T = TypeVar("T")
Limit = Annotated[int, Parameter(ge=1, le=100, description="Page size, 1-100.")]
# The pattern is the shape `CursorCodec.encode` writes; only the signature says more.
Cursor = Annotated[str | None, Parameter(
    max_length=512, pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
    description="From `next_cursor`.")]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageQuery(msgspec.Struct, frozen=True):
    limit: int
    after: UUID | None  # fetch ids strictly below this one
    scope: str

    @property
    def fetch(self) -> int:
        """Rows to ask the database for: one extra tells whether a next page exists."""
        return self.limit + 1


class _CursorBody(msgspec.Struct, frozen=True):
    after: UUID
    scope: str


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"rampart-cursor:" + secret).digest()

    def _sign(self, body: bytes) -> str:
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def encode(self, after: UUID, scope: str) -> str:
        body = msgspec.json.encode(_CursorBody(after=after, scope=scope))
        return base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + self._sign(body)

    def decode(self, cursor: str, scope: str) -> UUID:
        try:
            encoded, mac = cursor.split(".")
            body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            # Bytes, not str: compare_digest refuses non-ASCII text with a TypeError.
            if not hmac.compare_digest(mac.encode(), self._sign(body).encode()):
                raise ValueError("signature")
            decoded = msgspec.json.decode(body, type=_CursorBody)
            if decoded.scope != scope:
                raise ValueError("scope")
            return decoded.after
        except (ValueError, msgspec.DecodeError, msgspec.ValidationError):
            raise invalid("The cursor is not valid for this list.", parameter="cursor") from None


def page_query(request: Request[Any, Any, Any], limit: int, cursor: str | None,
               **filters: Any) -> PageQuery:
    """Validate `cursor` for this endpoint and filters, and say what to fetch."""
    scope = request.url.path + "?" + urlencode(sorted((k, str(v)) for k, v in filters.items()
                                                      if v is not None))
    codec: CursorCodec = request.app.state.cursors
    after = codec.decode(cursor, scope) if cursor else None
    return PageQuery(limit=limit, after=after, scope=scope)


def page_response(request: Request[Any, Any, Any], query: PageQuery, rows: Sequence[T],
                  *, id_of: Callable[[T], UUID] = lambda item: item.id,  # type: ignore[attr-defined]
                  headers: dict[str, str] | None = None) -> Response[Page[T]]:
    """Turn `query.fetch` rows into a page, with `next_cursor` and a `Link: rel="next"`."""
    page, links = page_of(request, query, rows, id_of=id_of)
    return Response(page, headers={**(headers or {}), **links})


def page_of(request: Request[Any, Any, Any], query: PageQuery, rows: Sequence[T],
            *, id_of: Callable[[T], UUID] = lambda item: item.id,  # type: ignore[attr-defined]
            ) -> tuple[Page[T], dict[str, str]]:
    """`page_response`'s page and headers, for a handler that encodes (and caches) it."""
    items = list(rows[: query.limit])
    if len(rows) <= query.limit:
        return Page(items=items, next_cursor=None), {}
    codec: CursorCodec = request.app.state.cursors
    next_cursor = codec.encode(id_of(items[-1]), query.scope)
    params = {k: v for k, v in request.query_params.items() if k != "cursor"}
    params["cursor"] = next_cursor
    return (Page(items=items, next_cursor=next_cursor),
            {"Link": f'<{request.url.path}?{urlencode(params)}>; rel="next"'})
