"""The request envelope: what every response gets, whatever route (or no route) it hit.

`RequestContext` wraps the whole application (outside routing), so 404s and 405s get the same
treatment: the server span (continuing an incoming `traceparent`), an `X-Request-ID`, security
headers, the span's `traceparent`, one JSON access-log line and the request metrics. It never
reads bodies or auth headers, so they cannot reach a log line from here (it only notes that an
`Authorization` was sent: such an answer gets `Cache-Control: no-store`, or `private, no-cache`
with an ETag, unless the route set its own). A HEAD request is
routed as the GET it asks about and answered without the body. A GET whose `If-None-Match`
holds the ETag its 200 response carries is answered 304 with the ETag and no body (RFC 9110
13.1.2), for every slice that sets an ETag (shared/http/concurrency.py).

Why not opentelemetry-instrumentation-asgi (Litestar's OpenTelemetryPlugin)? Measured here it
cost ~0.2 ms of CPU per request (two dozen attributes, header scans, its own metrics): more than
the rest of the envelope together. One span with the stable HTTP attributes does the job.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from litestar.middleware import MiddlewareProtocol
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry.trace import Status, StatusCode
from uuid_utils import uuid7

from shared.auth.principal import Principal
from shared.http.concurrency import not_modified
from shared.http.metrics import observe_request
from shared.http.problems import Problem, body_pointer, invalid
from shared.logging import access_line, bind_request, unbind_request
from shared.logging.tracing import server_span, span_ids, spans_recorded

_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
# The interactive docs under /schema load their scripts and styles from Rampart itself
# (shared/http/docs.py); the page's own setup script and styles are inline.
_DOCS_HEADERS = tuple(
    (name, b"default-src 'self' 'unsafe-inline' data:")
    if name == b"content-security-policy" else (name, value) for name, value in SECURITY_HEADERS)
_TRACE_HEADERS = (b"traceparent", b"tracestate")
_BODY_HEADERS = (b"content-type", b"content-length")


class RequestContext:
    def __init__(self, app: ASGIApp, *, trust_forwarded: bool = False,
                 methods: Mapping[str, Iterable[str]] | None = None) -> None:
        self.app = app
        self.trust_forwarded = trust_forwarded
        # `Allow` for OPTIONS, by path template: Litestar's own answer lists only the methods
        # of the first handler registered on a path.
        self.allow = {path: _allow(verbs) for path, verbs in (methods or {}).items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        request_id = _request_id(scope)
        state["request_id"] = request_id
        if self.trust_forwarded:
            forwarded = header(scope, b"x-forwarded-for")
            if forwarded:
                state["client_ip"] = forwarded.split(",")[0].strip()
        method, path = scope["method"], scope["path"]
        if method == "HEAD":  # answered as the GET would be, without its body (RFC 9110 9.3.2)
            scope["method"] = "GET"
            state["head"] = True
        carrier: dict[str, str] = {}
        if_none_match = None
        personal = False
        for key, value in scope["headers"]:
            if key in _TRACE_HEADERS:
                carrier[key.decode()] = value.decode("latin-1")
            elif key == b"authorization":
                personal = True
            elif key == b"if-none-match" and method in ("GET", "HEAD"):
                # Several field lines are one list (RFC 9110 5.3).
                held = value.decode("latin-1")
                if_none_match = held if if_none_match is None else f"{if_none_match}, {held}"
        status = 500
        empty_body = method == "HEAD"
        recorded = spans_recorded()
        with server_span(method, carrier, {"http.request.method": method, "url.path": path}
                         if recorded else {}) as span:
            trace_id, span_id, traceparent = span_ids(span)
            added = [(b"x-request-id", request_id.encode()), (b"traceparent", traceparent),
                     *(_DOCS_HEADERS if path.startswith("/schema") and not path.endswith(".json")
                       else SECURITY_HEADERS)]

            async def send_with_envelope(message: Message) -> None:
                nonlocal status, empty_body
                if message["type"] == "http.response.start":
                    status = message["status"]
                    headers = message.setdefault("headers", [])
                    if if_none_match is not None and status == 200 \
                            and _not_modified(if_none_match, headers):
                        status = message["status"] = 304
                        headers[:] = [(k, v) for k, v in headers if k not in _BODY_HEADERS]
                        empty_body = True
                    limits = state.get("rate_limit_fields")
                    # A 429 of a stricter limit (logins) carries that limit's fields instead.
                    if limits and (status != 429 or all(k != b"ratelimit-policy"
                                                        for k, _ in headers)):
                        headers.extend(limits)
                    headers.extend(added)
                    if personal:
                        _keep_private(headers)
                    if method == "OPTIONS" or status == 405:
                        _set_allow(headers, self.allow.get(scope.get("path_template", "")))
                elif empty_body:
                    message = {**message, "body": b""}
                await send(message)

            bound = bind_request(scope)
            try:
                await self.app(scope, receive, send_with_envelope)
            finally:
                unbind_request(bound)
                duration = time.perf_counter() - started
                route = scope.get("path_template") or "unmatched"
                if recorded:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                observe_request(method, route, status, duration)
                user = scope.get("user")
                access_line({
                    "request_id": request_id, "trace_id": trace_id, "span_id": span_id,
                    "user_id": str(user.user_id) if isinstance(user, Principal) else None,
                    "method": method, "route": route, "path": path, "status": status,
                    "duration_ms": int(duration * 1_000_000) / 1000,
                })


class StrictInput(MiddlewareProtocol):
    """Input is exactly what it claims to be, or a 4xx that says why.

    - A body is JSON (415 otherwise) of exactly the declared shape. Litestar converts bodies
      leniently (`"450"` would become 450, `4.0` would become 4); a typo must not be silently
      reinterpreted. Where a handler declares `data`, the body is decoded strictly into that
      type first (msgspec's default), then handed on unread.
    - No NUL character in the body or the query: PostgreSQL text cannot hold one, so it would
      otherwise surface as a 500 deep inside a slice.
    """

    def __init__(self, app: ASGIApp, *, max_body: int) -> None:
        self.app = app
        self.max_body = max_body
        self._types: dict[Any, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope["query_string"] or b"\x00" in scope["query_string"]:
            raise invalid("Query parameters may not contain NUL characters.",
                          parameter=_nul_parameter(scope["query_string"]))
        if scope["method"] in ("POST", "PUT", "PATCH") and _has_body(scope):
            media_type = header(scope, b"content-type").split(";")[0].strip().lower()
            if media_type != "application/json" and not media_type.endswith("+json"):
                raise Problem(415, "Send the request body as application/json.",
                              title="Unsupported Media Type")
        body_type = self._body_type(scope["route_handler"])
        if body_type is not None:
            body = await read_body(receive, self.max_body)
            _decode_strictly(body, body_type)
            receive = replay_body(body, receive)
        await self.app(scope, receive, send)

    def _body_type(self, handler: Any) -> Any:
        if handler not in self._types:
            data = handler.parsed_fn_signature.parameters.get("data")
            self._types[handler] = data.annotation if data is not None else None
        return self._types[handler]


# An escaped NUL (\u0000) that is not itself the tail of an escaped backslash.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _decode_strictly(body: bytes, body_type: Any) -> None:
    try:
        msgspec.json.decode(body, type=body_type)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `$")
        raise invalid(message, pointer=body_pointer(path.rstrip("`"), message)) from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise invalid("The request body is not valid UTF-8 JSON.", pointer="#") from None
    if _JSON_NUL.search(body):
        raise invalid("Text may not contain NUL characters (\\u0000).", pointer="#")


def _nul_parameter(query: bytes) -> str:
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if b"%00" in value or b"\x00" in value:
            return name.decode("latin-1")
    return "query"


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, refusing more than `limit` bytes with 413."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise Problem(400, "The client went away before sending the whole body.")
        body += message.get("body", b"")
        if len(body) > limit:
            raise Problem(413, "The request body is larger than the 1 MiB limit.",
                          title="Content Too Large")
        if not message.get("more_body", False):
            return body


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the already-read body on as if it were unread."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _allow(methods: Iterable[str]) -> bytes:
    """An `Allow` value: HEAD goes with GET (the envelope answers it), OPTIONS with any path."""
    verbs = {*methods, "OPTIONS"}
    if "GET" in verbs:
        verbs.add("HEAD")
    return ", ".join(sorted(verbs)).encode()


def _not_modified(if_none_match: str, headers: list[tuple[bytes, bytes]]) -> bool:
    """A GET answered 304: the response carries an ETag that If-None-Match holds."""
    for name, value in headers:
        if name == b"etag":
            return not_modified(if_none_match, value.decode("latin-1"))
    return False


def _keep_private(headers: list[tuple[bytes, bytes]]) -> None:
    """An answer to a request that carried credentials is the caller's own: no shared cache
    may keep it, and no cache at all unless it can revalidate with an ETag. A slice that
    says otherwise (a public product read) sets Cache-Control itself."""
    etag = False
    for name, _ in headers:
        if name == b"cache-control":
            return
        etag = etag or name == b"etag"
    headers.append((b"cache-control", b"private, no-cache" if etag else b"no-store"))


def _set_allow(headers: list[tuple[bytes, bytes]], value: bytes | None) -> None:
    for i, (name, current) in enumerate(headers):
        if name == b"allow":
            headers[i] = (name, value or _allow(current.decode().replace(" ", "").split(",")))


def _has_body(scope: Scope) -> bool:
    length = header(scope, b"content-length")
    if length:
        return length.strip() != "0"
    return bool(header(scope, b"transfer-encoding"))


def _request_id(scope: Scope) -> str:
    given = header(scope, b"x-request-id")
    return given if given and _REQUEST_ID.match(given) else str(uuid7())


def header(scope: Scope, name: bytes) -> str:
    """The first value of a request header, decoded; empty when absent."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""

