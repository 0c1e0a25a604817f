"""RFC 9457 problem details: the one place where errors become HTTP responses.

Slices raise `Problem` (or one of the short constructors below); Litestar's own exceptions
(routing 404/405, 413, validation) are converted here too, so every 4xx/5xx body has the same
shape: type, title, status, detail, instance, request_id (+ errors for validation).
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import psycopg
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

PROBLEM_BASE = "https://rampart.dev/problems/"
PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("rampart.errors")

_SLUGS = {
    400: "validation-error", 401: "unauthenticated", 402: "payment-declined", 403: "forbidden",
    404: "not-found",
    405: "method-not-allowed", 409: "conflict", 412: "precondition-failed",
    413: "payload-too-large", 415: "unsupported-media-type", 422: "unprocessable",
    428: "precondition-required", 429: "rate-limited", 503: "service-unavailable",
    500: "internal-error",
}


class Problem(Exception):
    """An error with a public meaning. `detail` is shown to the caller: keep it safe."""

    def __init__(self, status: int, detail: str, *, slug: str | None = None,
                 title: str | None = None, headers: dict[str, str] | None = None,
                 **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug or _SLUGS.get(status, "error")
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


def not_found(detail: str = "The resource does not exist.") -> Problem:
    return Problem(404, detail)


def conflict(detail: str) -> Problem:
    return Problem(409, detail)


def unprocessable(detail: str) -> Problem:
    return Problem(422, detail, title="Unprocessable Content")


def unauthenticated(detail: str = "Missing or invalid access token.") -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="rampart"'})


def invalid(detail: str, *, parameter: str | None = None, pointer: str | None = None) -> Problem:
    """A 400 validation problem about one query/path/header parameter or body member."""
    error = {"parameter": parameter} if parameter else {"pointer": pointer or ""}
    return Problem(400, detail, title="Invalid request", errors=[{**error, "detail": detail}])


def problem_response(request: Request[Any, Any, Any], problem: Problem) -> Response[Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + problem.slug,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        "request_id": request.scope.get("state", {}).get("request_id"),
        **problem.extensions,
    }
    headers = dict(problem.headers)
    if problem.status == 429 or problem.status >= 500:
        headers.setdefault("Cache-Control", "no-store")
    return Response(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def handle_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[Any]:
    return problem_response(request, exc)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own errors: routing, methods, body size, auth middleware, validation."""
    status = exc.status_code
    if status >= 500:
        return handle_unexpected(request, exc)
    if isinstance(exc, ValidationException) or status == 400:
        return problem_response(request, _validation_problem(exc))
    detail = {
        404: "No resource lives at this path.",
        405: f"{'HEAD' if request.scope['state'].get('head') else request.method} is not "
             "allowed here.",
        413: "The request body is larger than the 1 MiB limit.",
        415: "Send the request body as application/json.",
    }.get(status, str(exc.detail))
    headers = dict(exc.headers or {})
    return problem_response(request, Problem(status, detail, headers=headers))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything else is a bug: log it with the stack, tell the caller nothing about it."""
    log.error("unhandled_exception", exc_info=exc, path=request.url.path)
    return problem_response(request, Problem(
        500, "Something went wrong on our side. Quote the request_id when you report it.",
        title="Internal Server Error"))


# Seconds a client should wait before retrying while the database is unavailable.
DATABASE_RETRY_AFTER = 2


# SQLSTATEs that mean "the database could not serve this now; the same request may succeed
# soon": connection exceptions (08), too many connections, operator/crash shutdown and
# "cannot connect now" (57P0x), serialization failure and deadlock.
_TRANSIENT = ("08", "53300", "57P01", "57P02", "57P03", "40001", "40P01")


def handle_database_error(request: Request[Any, Any, Any],
                          exc: psycopg.OperationalError) -> Response[Any]:
    """The database was down, restarting or unreachable, no pooled connection came in time
    (psycopg_pool's PoolTimeout, no SQLSTATE), or a deadlock or serialization failure rolled
    the transaction back: 503 with Retry-After, the cause only in the log. Any other
    operational error (a full disk, a statement timeout) would fail again: a 500."""
    if exc.sqlstate is not None and not exc.sqlstate.startswith(_TRANSIENT):
        return handle_unexpected(request, exc)
    log.warning("database_unavailable", error=type(exc).__name__, sqlstate=exc.sqlstate,
                path=request.url.path)
    return problem_response(request, Problem(
        503, "The service is briefly unavailable; retry after the indicated time.",
        title="Service Unavailable", headers={"Retry-After": str(DATABASE_RETRY_AFTER)}))


# Body errors come as a path ("items[0].quantity", "" or "data" for the root) and a message;
# "unknown field `x`" / "missing required field `x`" name the member the pointer ends at.
_FIELD = re.compile(r"(?:unknown|missing required) field `([^`]*)`")
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def body_pointer(path: str, message: str) -> str:
    """The JSON pointer (RFC 6901, as a URI fragment) of the body member an error is about."""
    parts = [] if path == "data" else [a or b for a, b in _PART.findall(path)]
    member = _FIELD.search(message)
    if member:
        parts.append(member[1])
    escaped = (p.replace("~", "~0").replace("/", "~1") for p in parts)
    return "#/" + "/".join(escaped) if parts else "#"


def _validation_problem(exc: HTTPException) -> Problem:
    errors: list[dict[str, str]] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "is invalid"))
        key = str(item.get("key", ""))
        if item.get("source") in ("query", "path", "header", "cookie"):
            errors.append({"parameter": key, "detail": message})
        else:
            errors.append({"pointer": body_pointer(key, message), "detail": message})
    if not errors:  # malformed JSON and the like: no member to point at
        errors.append({"pointer": "#", "detail": "The request body is not valid JSON."})
    detail = errors[0]["detail"] if len(errors) == 1 else "The request has invalid fields."
    return Problem(400, detail, title="Invalid request", errors=errors)


EXCEPTION_HANDLERS = {
    Problem: handle_problem,
    HTTPException: handle_http_exception,
    psycopg.OperationalError: handle_database_error,
    Exception: handle_unexpected,
}
