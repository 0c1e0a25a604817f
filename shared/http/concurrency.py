"""Optimistic concurrency over HTTP: a row's integer `version` is its strong ETag, `"<version>"`.

Reads send the ETag; the request envelope (shared/http/middleware.py) answers a GET whose
`If-None-Match` matches the response's ETag with an empty 304, so a slice only sets the ETag
and declares `operation_class=ConditionalRead` for the OpenAPI document. Updates require
`If-Match` (428 without it) and run as one statement, `UPDATE ... WHERE id = .. AND version =
ANY(..)`, so no read-then-write race exists: when no row changes but the resource exists, its
version moved on and the answer is 412 with the current ETag.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.enums import ParamType
from litestar.openapi.spec import OpenAPIResponse, OpenAPIType, Parameter, Schema
from litestar.params import HeaderParameter

from shared.http.openapi import CURRENT_ETAG, KernelOperation
from shared.http.problems import Problem, invalid

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, in a comma-separated list (RFC 9110 8.8.3)
_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')
# Versions are PostgreSQL integers: a longer number cannot match and must not reach the query.
_VERSION = re.compile(r"^[0-9]{1,9}$")

# `ETag` of a success response, for a slice's `response_headers=[ETAG]` (OpenAPI only).
ETAG = ResponseHeader(name="ETag", documentation_only=True,
                      description='The version you read, e.g. `"3"`: send it as If-Match.')
# Optional to Litestar so that a missing one is our 428; the document marks it required.
_IfMatchHeader = Annotated[str | None, HeaderParameter(
    name="If-Match", description='The ETag you last read, e.g. `"3"`. Required.')]
# What an update handler takes: `if_match: IfMatchVersions`, the versions it may apply to.
IfMatchVersions = NamedDependency[list[int]]


def provide_if_match(request: Request[Any, Any, Any],
                     if_match_header: _IfMatchHeader = None) -> list[int]:
    """The `if_match` dependency: every `If-Match` line as one list (RFC 9110 5.3), parsed."""
    lines = [value.decode("latin-1") for name, value in request.scope["headers"]
             if name == b"if-match"]
    return if_match_versions(", ".join(lines) if lines else None)


class ConditionalRead(KernelOperation):
    """The OpenAPI operation of a GET that sends an ETag: it takes If-None-Match and may
    answer 304. (The envelope does the answering; nothing in the handler reads the header.)"""

    def document(self) -> None:
        self.parameters = [*(self.parameters or []), Parameter(
            name="If-None-Match", param_in=ParamType.HEADER, required=False,
            schema=Schema(type=OpenAPIType.STRING),
            description='ETags you hold, e.g. `"3"`; if one is current the answer is an empty '
                        "304.")]
        self.responses = {**(self.responses or {}), "304": OpenAPIResponse(
            description="Not modified: the ETag you sent is current.",
            headers={"ETag": CURRENT_ETAG})}
        super().document()


def etag(version: int) -> str:
    return f'"{version}"'


def _tags(value: str) -> list[tuple[bool, str]] | None:
    """(weak, opaque) pairs of an entity-tag list; None when the list is malformed."""
    tags, pos, value = [], 0, value.strip()
    while pos < len(value):
        match = _TAG.match(value, pos)
        if match is None:
            return None
        tags.append((match[1] is not None, match[2]))
        pos = match.end()
    return tags


def if_match_versions(value: str | None) -> list[int]:
    """The versions an update may apply to (possibly none, which then answers 412)."""
    if value is None or not value.strip():
        raise Problem(428, 'This update needs If-Match with the ETag you last read, e.g. '
                      'If-Match: "3".', title="Precondition Required")
    if value.strip() == "*":
        raise Problem(428, "If-Match must name the version you read; `*` would overwrite "
                      "changes you have not seen.", title="Precondition Required")
    tags = _tags(value)
    if not tags:
        raise invalid('If-Match must be entity tags, e.g. "3".', parameter="If-Match")
    # Strong comparison: a weak tag never matches an update's precondition.
    return [int(opaque) for weak, opaque in tags if not weak and _VERSION.match(opaque)]


def not_modified(if_none_match: str | None, current: str) -> bool:
    """Whether `If-None-Match` holds the `current` ETag (RFC 9110 13.1.2): tags compare
    weakly, `*` matches anything that exists, and a malformed header matches nothing."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    tag = _tags(current)
    return bool(tag) and any(opaque == tag[0][1] for _, opaque in _tags(if_none_match) or [])


def precondition_failed(current_version: int) -> Problem:
    return Problem(412, "The resource changed since you read it; read it again and retry "
                   "with its new ETag.", headers={"ETag": etag(current_version)})
