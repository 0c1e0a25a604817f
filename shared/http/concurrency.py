"""Optimistic concurrency over HTTP: a row's integer `version` is its strong ETag, `"<version>"`.

Reads send the ETag and answer a matching `If-None-Match` with 304. Updates require `If-Match`
(428 without it) and run as one statement, `UPDATE ... WHERE id = .. AND version = ANY(..)`,
so no read-then-write race exists: when no row changes but the resource exists, its version
moved on and the answer is 412 with the current ETag.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

from shared.http.problems import Problem, invalid

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, in a comma-separated list (RFC 9110 8.8.3)
_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')
# Versions are PostgreSQL integers: a longer number cannot match and must not reach the query.
_VERSION = re.compile(r"^[0-9]{1,9}$")

IfMatch = Annotated[str | None, HeaderParameter(
    name="If-Match", description='The ETag you last read, e.g. `"3"`. Required.')]
IfNoneMatch = Annotated[str | None, HeaderParameter(
    name="If-None-Match", description="ETags you hold; a match answers 304.")]
NOT_MODIFIED = {304: ResponseSpec(data_container=None, description="Not modified")}


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


def not_modified(value: str | None, version: int) -> bool:
    """If-None-Match compares weakly; `*` matches anything that exists; garbage is ignored."""
    if not value:
        return False
    if value.strip() == "*":
        return True
    return any(opaque == str(version) for _, opaque in _tags(value) or [])


def not_modified_response(version: int) -> Response[Any]:
    return Response(None, status_code=304, headers={"ETag": etag(version)})


def precondition_failed(current_version: int) -> Problem:
    return Problem(412, "The resource changed since you read it; read it again and retry "
                   "with its new ETag.", headers={"ETag": etag(current_version)})
