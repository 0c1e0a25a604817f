"""What the kernel adds to every answer, written into each operation of the OpenAPI document.

A slice documents what it decides: its success status, its own headers (`ETag`, `Location`,
with `response_headers=[...]`) and the problems it raises (`problems(404, 409)`). What the
kernel does on every route a slice would otherwise have to repeat, so `KernelOperation` adds
it from what the operation already shows (the app factory makes it every handler's
`operation_class`):
- every response: `X-Request-ID`, `traceparent`, and the `RateLimit` fields;
- 429 and 503 with `Retry-After`, and a bare 500, on every operation;
- 401 with `WWW-Authenticate` where a token is required;
- 413 and 415 where there is a request body;
- `If-Match` required, with 412 (carrying the current `ETag`) and 428, where it is taken: the
  header is optional to Litestar only so that its absence is a 428, not a 400;
- `Retry-After` on the 409 of an operation that takes an `Idempotency-Key` (in progress);
- OpenAPI links: an operation whose input is another operation's answer says so where it is
  declared, `opt=fed_by(createProduct={"product_id": "$response.body#/id"})`, and the app
  factory writes the link into the producer's success responses (`declare_links`), so a
  client, and the stateful fuzz, can follow the chain.

The document is as strict as the server, so a generated client cannot send what the server is
certain to refuse: a struct that forbids unknown fields (every request `Body`) says
`additionalProperties: false`, a field's `not` (e.g. a non-zero delta, declared with
`Meta(extra_json_schema={"not": {"const": 0}})`) is kept, so is a field's `pattern` given
there (text that must not be blank, `SAYS_SOMETHING`), so is a struct's own
`json_schema_extra` (`StrictStructs`), and `If-Match` is
a pattern of entity tags (no `*`, which is a 428); text in a body or a query without a
pattern of its own refuses NUL, as the server does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    Link,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
)

from shared.http.problems import PROBLEM_JSON
from shared.http.schema import DESCRIPTIONS

# Text without NUL: PostgreSQL cannot store it, so the server refuses it in bodies and queries.
NO_NUL = r"^[^\x00]*$"
# A list of strong or weak entity tags, as shared/http/concurrency.py parses it.
ENTITY_TAGS = r'^\s*(W/)?"[\x21\x23-\x7e]*"(\s*,\s*(W/)?"[\x21\x23-\x7e]*")*\s*$'


def _header(description: str, type_: OpenAPIType = OpenAPIType.STRING) -> OpenAPIHeader:
    return OpenAPIHeader(schema=Schema(type=type_), description=description)


EVERY_RESPONSE = {
    "X-Request-ID": _header("The request's id: yours (1-128 visible ASCII) or a new one."),
    "traceparent": _header("W3C trace context of the server span."),
}
RATE_LIMIT = {
    "RateLimit-Policy": _header('The caller\'s policy, e.g. `"user";q=600;w=60`.'),
    "RateLimit": _header('What is left of it, e.g. `"user";r=599;t=42`.'),
}
CURRENT_ETAG = _header('The current version\'s ETag, e.g. `"3"`.')
RETRY_AFTER = {"Retry-After": _header("Seconds to wait before retrying.", OpenAPIType.INTEGER)}
_HEADERS: dict[str, dict[str, OpenAPIHeader]] = {
    "401": {"WWW-Authenticate": _header('The scheme to use: `Bearer realm="rampart"`.')},
    "412": {"ETag": CURRENT_ETAG},
    "429": RETRY_AFTER,
    "503": RETRY_AFTER,
}


class KernelOperation(Operation):
    """An operation as the kernel answers it (see the module docstring)."""

    # The links of its success answers, by name (set by `declare_links`).
    links: dict[str, Link] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.document()

    def document(self) -> None:
        """Add the kernel's part; a subclass adds its own first, then calls this."""
        responses: dict[str, Any] = dict(self.responses or {})
        wanted = {"429", "500", "503"}
        if self.security:
            wanted.add("401")
        if self.request_body is not None:
            wanted |= {"413", "415"}
        names = {p.name for p in self.parameters or [] if isinstance(p, Parameter)}
        for parameter in self.parameters or []:
            if isinstance(parameter, Parameter) and parameter.param_in == "query" \
                    and isinstance(parameter.schema, Schema):
                forbid_nul(parameter.schema)
        for parameter in self.parameters or []:
            if isinstance(parameter, Parameter) and parameter.name == "If-Match":
                parameter.required = True
                parameter.schema = Schema(type=OpenAPIType.STRING, pattern=ENTITY_TAGS)
                wanted |= {"412", "428"}
        for status in wanted - responses.keys():
            responses[status] = OpenAPIResponse(description=DESCRIPTIONS[int(status)], content={
                PROBLEM_JSON: OpenAPIMediaType(schema=Reference(
                    ref="#/components/schemas/ProblemDocument"))})
        for status, response in responses.items():
            if not isinstance(response, OpenAPIResponse):
                continue
            headers = {**EVERY_RESPONSE, **RATE_LIMIT, **(response.headers or {})}
            headers.update(_HEADERS.get(status, {}))
            if status == "409" and "Idempotency-Key" in names:
                headers.update(RETRY_AFTER)  # while the same key is still being processed
            response.headers = headers
            if status.startswith("2") and self.links:
                response.links = {**(response.links or {}), **self.links}
        self.responses = dict(sorted(responses.items()))


def fed_by(**producers: Mapping[str, Any]) -> dict[str, Any]:
    """`opt` of an operation whose input comes from other operations' success answers, keyed
    by their operation ids. Each maps a parameter (`name`, or `header.If-Match` where the
    location must be said) to an OpenAPI runtime expression, and may give a `requestBody`
    whose strings are expressions too (how schemathesis reads a link's body)."""
    return {"fed_by": producers}


def declare_links(handlers: Iterable[HTTPRouteHandler]) -> None:
    """Write every `fed_by` declaration as a link of its producer's success responses."""
    handlers = list(handlers)
    ids = {handler.operation_id for handler in handlers}
    links: dict[object, dict[str, Link]] = {}
    for handler in handlers:
        for producer, fields in handler.opt.get("fed_by", {}).items():
            if producer not in ids:
                raise TypeError(f"{handler.handler_name}: fed_by names {producer!r}, which is "
                                "no operation of this app")
            consumer = str(handler.operation_id)
            links.setdefault(producer, {})[consumer[0].upper() + consumer[1:]] = Link(
                operation_id=consumer, request_body=fields.get("requestBody"),
                parameters={k: v for k, v in fields.items() if k != "requestBody"} or None)
    for handler in handlers:
        # Apps are built again and again from the same handlers (the tests): start afresh.
        base = getattr(handler.operation_class, "unlinked", handler.operation_class)
        own = links.get(handler.operation_id)
        handler.operation_class = base if own is None else type(
            base.__name__, (base,), {"unlinked": base, "links": own})


class StrictStructs(StructSchemaPlugin):
    """Litestar's msgspec struct schemas, plus what it leaves out (module docstring)."""

    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if not isinstance(info, msgspec.inspect.StructType):
            return schema
        if info.forbid_unknown_fields:
            schema.additional_properties = False
            for prop in (schema.properties or {}).values():
                if isinstance(prop, Schema):
                    forbid_nul(prop)
        # What a struct says about itself as a whole, e.g. {"minProperties": 1} for a change
        # that must change something.
        for key, value in getattr(info.cls, "json_schema_extra", {}).items():
            setattr(schema, {"minProperties": "min_properties"}.get(key, key), value)
        for field in info.fields:
            meta = field.type
            extra = meta.extra_json_schema if isinstance(meta, msgspec.inspect.Metadata) else None
            prop = (schema.properties or {}).get(field.encode_name)
            if extra and "not" in extra and isinstance(prop, Schema):
                prop.schema_not = Schema(**extra["not"])
            if extra and "pattern" in extra and isinstance(prop, Schema):
                for part in [prop, *(prop.one_of or [])]:
                    if isinstance(part, Schema) and part.type == OpenAPIType.STRING:
                        part.pattern = extra["pattern"]
        return schema


def forbid_nul(schema: Schema) -> None:
    """A text schema (alone or among a `oneOf`) without a pattern of its own refuses NUL;
    one with a pattern already names what it takes."""
    for part in [schema, *(schema.one_of or [])]:
        if isinstance(part, Schema) and part.type == OpenAPIType.STRING and not part.pattern \
                and not part.enum and not part.format:
            part.pattern = NO_NUL
