"""Base structs for request bodies and the problem document, shared by every slice."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from msgspec import Meta

from shared.http.problems import PROBLEM_JSON


def whole(pattern: str) -> str:
    """A `Meta(pattern=...)` that must match the whole string.

    msgspec runs patterns with `re.search`, where `$` also matches before a final newline, so
    `^[A-Z]+$` would let "ABC\\n" through. `(?!\\n)$` closes that gap and still means the same
    in the ECMA-262 dialect the OpenAPI document's readers use.
    """
    return f"^(?:{pattern})(?!\\n)$"


# What Python's `str.strip()` removes (every character `str.isspace()` holds), spelled out so
# the document's ECMA-262 readers see the same set (their `\s` lacks \x1c-\x1f and \x85).
SPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# For text a slice stores trimmed and refuses (400) when blank: `Meta(..., extra_json_schema=
# SAYS_SOMETHING)` tells the document, so a generated client never sends "   ".
SAYS_SOMETHING = {"pattern": whole(rf"[^\x00]*[^\x00{SPACE}][^\x00]*")}


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """A JSON request body: unknown fields are an error, not silently ignored."""


class ProblemError(msgspec.Struct, omit_defaults=True):
    detail: str
    pointer: str | None = None
    parameter: str | None = None


class ProblemDocument(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details, as every error response carries them."""

    type: Annotated[str, Meta(extra_json_schema={"format": "uri"},
                              examples=["https://rampart.dev/problems/validation-error"])]
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None = None
    errors: list[ProblemError] | None = None


DESCRIPTIONS = {
    400: "Invalid request", 401: "Missing or invalid access token",
    402: "Payment declined by the provider; `decline_code` says why", 403: "Role not allowed",
    404: "Not found", 409: "Conflict", 412: "Precondition failed", 413: "Payload too large",
    415: "Unsupported media type", 422: "Unprocessable", 428: "Precondition required",
    429: "Rate limited", 500: "Internal error: nothing about it is told; quote the request_id",
    503: "Service unavailable: the database is briefly unreachable",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses for the given statuses, documented as application/problem+json (the
    kernel's own, 429 and 503 among them, are added by shared/http/openapi.py)."""
    spec: dict[int, Any] = {}
    for status in (400, *statuses):
        spec[status] = ResponseSpec(data_container=ProblemDocument, media_type=PROBLEM_JSON,
                                    generate_examples=False,
                                    description=DESCRIPTIONS.get(status, "Error"))
    return spec
