"""The HTTP envelope: problem details for every error, request ids, security headers,
trace context, OpenAPI."""

from __future__ import annotations

import re

import psycopg
import psycopg_pool
import pytest
from litestar import Response, get
from litestar.params import FromPath
from litestar.testing import AsyncTestClient
from uuid_utils.compat import uuid7

from shared.app import create_app
from shared.http.openapi import fed_by
from shared.modules import Module, discover
from tests.fixtures import bearer, problem

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


@get("/v1/test/boom", opt={"public": True}, sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("SELECT secret FROM internals -- should never be shown")


# A database error of each kind, by SQLSTATE, as a slice would see it raised.
DB_ERRORS = {"deadlock": psycopg.errors.DeadlockDetected, "shutdown": psycopg.errors.AdminShutdown,
             "disk-full": psycopg.errors.DiskFull, "timeout": psycopg.errors.QueryCanceled,
             "pool": psycopg_pool.PoolTimeout}


@get("/v1/test/db-error/{kind:str}", opt={"public": True}, sync_to_thread=False)
def db_error(kind: FromPath[str]) -> None:
    raise DB_ERRORS[kind]("couldn't: SELECT secret FROM internals")


@get("/v1/test/tagged/{status:int}", opt={"public": True}, sync_to_thread=False)
def tagged(status: FromPath[int]) -> Response[dict[str, str]]:
    return Response({"kind": "tagged"}, status_code=status, headers={"ETag": '"7"'})


@pytest.fixture
def app(settings, database_url):
    return create_app(settings, database_url=database_url, modules=[
        *discover(), Module(name="test", routes=[boom, db_error, tagged])])


async def test_unknown_route_is_a_404_problem(client) -> None:
    problem(await client.get("/v1/nothing-here"), 404, "not-found")


async def test_wrong_method_is_a_405_problem(client) -> None:
    response = await client.delete("/v1/users")
    problem(response, 405, "method-not-allowed")
    assert "allow" in response.headers


async def test_head_answers_what_get_would_without_the_body(client, api) -> None:
    headers = await api.user_headers()
    got = await client.get("/v1/users/me", headers=headers)
    head = await client.head("/v1/users/me", headers=headers)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == got.headers["content-length"] != "0"
    assert head.headers["x-request-id"] != got.headers["x-request-id"]
    assert (await client.head("/v1/users/me")).status_code == 401  # no token: as GET would
    refused = await client.head("/v1/auth/token")  # a POST-only route
    assert refused.status_code == 405 and refused.content == b""
    assert "POST" in refused.headers["allow"]


async def test_a_get_holding_the_current_etag_is_an_empty_304(client) -> None:
    for method in ("GET", "HEAD"):
        for held in ('"7"', 'W/"7"', '"1", "7"', "*"):
            response = await client.request(method, "/v1/test/tagged/200",
                                            headers={"If-None-Match": held})
            assert response.status_code == 304 and response.content == b"", (method, held)
            assert response.headers["etag"] == '"7"'
            assert "content-type" not in response.headers
            assert response.headers.get("content-length", "0") == "0"
            assert response.headers["x-content-type-options"] == "nosniff"  # still enveloped
    # A list sent as several field lines is one list (RFC 9110 5.3).
    lines = await client.get("/v1/test/tagged/200",
                             headers=[("If-None-Match", '"1"'), ("If-None-Match", '"7"')])
    assert lines.status_code == 304
    for held in ('"1"', "garbage", ""):
        response = await client.get("/v1/test/tagged/200", headers={"If-None-Match": held})
        assert response.status_code == 200 and response.json() == {"kind": "tagged"}
    # Only a 200 is ever turned into a 304, and only a response that carries an ETag.
    created = await client.get("/v1/test/tagged/201", headers={"If-None-Match": '"7"'})
    assert created.status_code == 201 and created.json() == {"kind": "tagged"}
    untagged = await client.get("/health/live", headers={"If-None-Match": "*"})
    assert untagged.status_code == 200 and untagged.content


async def test_openapi_shows_if_none_match_and_304_on_conditional_reads(client) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    operation = spec["paths"]["/v1/products/{product_id}"]["get"]
    assert "If-None-Match" in [p["name"] for p in operation["parameters"]]
    assert "304" in operation["responses"] and "404" in operation["responses"]


async def test_options_lists_every_method_of_a_path_without_a_token(client) -> None:
    for path, allowed in (("/v1/products", "GET, HEAD, OPTIONS, POST"),
                          (f"/v1/products/{uuid7()}", "GET, HEAD, OPTIONS, PATCH"),
                          ("/v1/auth/token", "OPTIONS, POST"),
                          ("/v1/users/me", "GET, HEAD, OPTIONS")):
        response = await client.options(path)
        assert response.status_code == 204, (path, response.text)
        assert response.headers["allow"] == allowed, path
    refused = await client.delete("/v1/products")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD, OPTIONS, POST"


async def test_unexpected_errors_are_a_bare_500(client) -> None:
    response = await client.get("/v1/test/boom")
    body = problem(response, 500, "internal-error")
    assert "SELECT" not in response.text and "RuntimeError" not in response.text
    assert body["title"] == "Internal Server Error"


@pytest.mark.parametrize(("kind", "status"), [("deadlock", 503), ("shutdown", 503),
                                              ("pool", 503), ("disk-full", 500),
                                              ("timeout", 500)])
async def test_database_errors_worth_retrying_are_503_and_the_rest_500(client, kind,
                                                                        status) -> None:
    response = await client.get(f"/v1/test/db-error/{kind}")
    problem(response, status, "service-unavailable" if status == 503 else "internal-error")
    assert (response.headers.get("retry-after") == "2") == (status == 503)
    assert "SELECT" not in response.text and "couldn't" not in response.text


async def test_request_id_is_echoed_or_generated(client) -> None:
    given = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = await client.get("/v1/nothing", headers={"X-Request-ID": "x" * 129})
    assert generated.headers["x-request-id"] != "x" * 129
    assert generated.json()["request_id"] == generated.headers["x-request-id"]


async def test_security_headers_on_every_response(client) -> None:
    for path in ("/health/live", "/v1/users/me", "/v1/nothing"):
        headers = (await client.get(path)).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in headers["content-security-policy"]


async def test_traceparent_is_continued_and_returned(client) -> None:
    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = await client.get("/health/live", headers={"traceparent": incoming})
    trace_id, span_id = TRACEPARENT.match(response.headers["traceparent"]).groups()
    assert trace_id == "0af7651916cd43dd8448eb211c80319c" and span_id != "b7ad6b7169203331"
    fresh = await client.get("/health/live")
    assert TRACEPARENT.match(fresh.headers["traceparent"])[1] != trace_id


async def test_openapi_shows_the_headers_and_problems_the_kernel_adds(client) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            for status in ("429", "500", "503"):
                assert status in responses, (method, path, status)
            assert "Retry-After" in responses["429"]["headers"], (method, path)
            assert "Retry-After" in responses["503"]["headers"], (method, path)
            for status, response in responses.items():
                assert "X-Request-ID" in response["headers"], (method, path, status)
            if operation.get("security"):
                assert "WWW-Authenticate" in responses["401"]["headers"], (method, path)
            if "requestBody" in operation:
                assert {"413", "415"} <= responses.keys(), (method, path)
    create = spec["paths"]["/v1/products"]["post"]
    created = create["responses"]["201"]["headers"]
    assert {"Location", "ETag", "Idempotent-Replayed"} <= created.keys()
    assert "Retry-After" in create["responses"]["409"]["headers"]  # key still in progress
    update = spec["paths"]["/v1/products/{product_id}"]["patch"]
    assert [p["required"] for p in update["parameters"] if p["name"] == "If-Match"] == [True]
    assert "ETag" in update["responses"]["200"]["headers"]
    assert "ETag" in update["responses"]["412"]["headers"] and "428" in update["responses"]
    read = spec["paths"]["/v1/products/{product_id}"]["get"]["responses"]
    assert "ETag" in read["200"]["headers"] and "ETag" in read["304"]["headers"]


async def test_openapi_documents_every_v1_route_with_problem_errors(client, app) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    routes = {p for r in app.routes for p in [r.path] if p.startswith("/v1/") and
              "/test/" not in p}
    documented = {re.sub(r"\{(\w+)\}", r"{\1}", p) for p in spec["paths"]}
    for path in routes:
        assert re.sub(r":\w+\}", "}", path) in documented, path
    post_users = spec["paths"]["/v1/users"]["post"]["responses"]
    assert "application/problem+json" in post_users["409"]["content"]
    assert spec["paths"]["/v1/users"]["post"]["operationId"] == "registerUser"


async def test_operational_endpoints_are_not_rate_limited(settings, database_url) -> None:
    from tests.fixtures import make_settings

    app = create_app(make_settings(rate_limit_anon="2/minute"), database_url=database_url)
    async with AsyncTestClient(app) as client:
        for _ in range(5):
            assert (await client.get("/health/live")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200


async def test_database_statements_are_child_spans_of_the_request(client, api) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    headers = await api.user_headers()
    exporter.clear()
    response = await client.get("/v1/users/me", headers=headers)
    trace_id = TRACEPARENT.match(response.headers["traceparent"])[1]
    spans = [s for s in exporter.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]
    exporter.shutdown()
    server = next(s for s in spans if s.kind == trace.SpanKind.SERVER)
    statements = [s for s in spans if s.name.startswith("db ")]
    assert statements and statements[0].name == "db SELECT"
    assert all(s.parent.span_id == server.context.span_id for s in statements)
    assert "identity.users" in statements[0].attributes["db.statement"]


@pytest.mark.parametrize(("change", "pointer"), [({"price_cents": "450"}, "#/price_cents"),
                                                 ({"price_cents": 4.0}, "#/price_cents"),
                                                 ({"name": ["Tea"]}, "#/name")])
async def test_bodies_are_decoded_strictly_never_coerced(client, app, change, pointer) -> None:
    from tests.fixtures import bearer

    body = {"sku": "TEA-1", "name": "Tea", "price_cents": 450, "currency": "EUR",
            "category": "tea", **change}
    response = await client.post("/v1/products", json=body, headers={
        **bearer(app), "Idempotency-Key": "strict-1"})
    assert problem(response, 400, "validation-error")["errors"][0]["pointer"] == pointer


async def test_nul_characters_and_broken_utf8_are_400_not_500(client) -> None:
    body = problem(await client.post("/v1/users", content=(
        b'{"email": "a@b.c", "password": "long enough 1", "name": "a\\u0000b"}'),
        headers={"content-type": "application/json"}), 400, "validation-error")
    assert body["errors"][0]["pointer"] == "#"
    problem(await client.post("/v1/users", content=(
        b'{"email": "a@b.c", "password": "long enough 1", "name": "\xff"}'),
        headers={"content-type": "application/json"}), 400, "validation-error")
    response = await client.get("/v1/products", params={"category": "tea\x00"})
    assert problem(response, 400, "validation-error")["errors"][0]["parameter"] == "category"
    # An escaped backslash followed by "u0000" is ordinary text.
    ok = await client.post("/v1/users", content=(
        b'{"email": "nul@b.c", "password": "long enough 1", "name": "a\\\\u0000b"}'),
        headers={"content-type": "application/json"})
    assert ok.status_code == 201 and ok.json()["name"] == "a\\u0000b"


async def test_a_caller_without_the_role_learns_nothing_about_the_body(client, app) -> None:
    from tests.fixtures import bearer

    customer = bearer(app, role="customer")
    for response in [
        await client.post("/v1/products", json={"sku": "X"}, headers=customer),
        await client.post("/v1/products", content=b"sku=X", headers={
            **customer, "content-type": "text/plain", "Idempotency-Key": "k"}),
        await client.post("/v1/products", json={"sku": "X"}, headers={
            **customer, "Idempotency-Key": "k"}),
    ]:
        problem(response, 403, "forbidden")


async def test_openapi_marks_only_protected_operations_as_needing_a_token(client) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    assert "security" not in spec or spec["security"] == []
    assert "security" not in spec["paths"]["/v1/users"]["post"]
    assert "security" not in spec["paths"]["/v1/products"]["get"]
    assert spec["paths"]["/v1/users/me"]["get"]["security"] == [{"bearer": []}]
    assert spec["paths"]["/v1/products"]["post"]["security"] == [{"bearer": []}]


async def test_openapi_is_as_strict_as_the_server(client) -> None:
    """A client generated from the document cannot send what the server is sure to refuse."""
    spec = (await client.get("/schema/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                name = body["schema"]["$ref"].rsplit("/", 1)[1]
                assert schemas[name]["additionalProperties"] is False, (method, path)
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "cursor":
                    assert parameter["schema"]["pattern"], (method, path)
    if_match = next(p for p in spec["paths"]["/v1/products/{product_id}"]["patch"]["parameters"]
                    if p["name"] == "If-Match")
    pattern = re.compile(if_match["schema"]["pattern"])
    assert pattern.match('"3"') and pattern.match('W/"2", "3"')
    assert not pattern.match("*") and not pattern.match("3")
    assert schemas["Adjustment"]["properties"]["delta"]["not"] == {"const": 0}
    assert "ZZZ" not in schemas["NewProduct"]["properties"]["currency"]["enum"]


async def test_openapi_text_refuses_nul_as_the_server_does(client) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    name = spec["components"]["schemas"]["NewProduct"]["properties"]["name"]
    pattern = re.compile(name["pattern"])
    assert pattern.match("tea") and not pattern.match("t\x00a")


async def test_openapi_says_which_text_must_not_be_blank_as_the_server_does(client,
                                                                           app) -> None:
    """Names, categories and reasons are stored trimmed and refused when blank. Python's
    `str.strip()` removes more than ECMA's `\\s` (\\x1c-\\x1f, \\x85), so the document spells the
    characters out: what it takes, the server takes, and the other way round."""
    spec = (await client.get("/schema/openapi.json")).json()
    name = spec["components"]["schemas"]["CreateApiKey"]["properties"]["name"]
    pattern = re.compile(name["pattern"])
    for space in (chr(c) for c in range(0x3001) if chr(c).isspace()):
        assert not pattern.match(space * 3) and pattern.match(f"{space}a{space}"), hex(ord(space))
        answer = await client.post("/v1/api-keys", headers=bearer(app),
                                   json={"name": space * 3})
        problem(answer, 400, "validation-error")
    assert pattern.match("\x1bkey") and not pattern.match("k\x00y")
    listed = await client.get("/v1/products", params={"category": "\x1c \x85"})
    problem(listed, 400, "validation-error")


async def test_openapi_links_follow_from_what_slices_declare(client) -> None:
    """`fed_by` on the operation that takes an id becomes a link on its producer's answer."""
    spec = (await client.get("/schema/openapi.json")).json()
    created = spec["paths"]["/v1/products"]["post"]["responses"]["201"]["links"]
    assert created["GetProduct"] == {"operationId": "getProduct",
                                     "parameters": {"product_id": "$response.body#/id"}}
    assert created["UpdateProduct"]["parameters"]["header.If-Match"] == "$response.header.ETag"
    assert {"GetStockLevel", "AdjustStock", "PlaceOrder"} <= created.keys()
    placed = spec["paths"]["/v1/orders"]["post"]["responses"]["201"]["links"]
    assert {"GetOrder", "CancelOrder", "ShipOrder", "PayOrder", "ListPayments"} <= placed.keys()
    key = spec["paths"]["/v1/api-keys"]["post"]["responses"]["201"]["links"]
    assert key["RevokeApiKey"]["parameters"] == {"key_id": "$response.body#/id"}
    # Only success answers carry them.
    assert "links" not in spec["paths"]["/v1/products"]["post"]["responses"]["409"]


def test_a_link_to_an_operation_nobody_serves_is_refused(settings) -> None:
    @get("/v1/test/fed", sync_to_thread=False,
         opt={"public": True, **fed_by(noSuchOperation={"x": "$response.body#/id"})})
    def fed() -> None:
        return None

    with pytest.raises(TypeError, match="noSuchOperation"):
        create_app(settings, database_url="postgresql://unused/db",
                   modules=[*discover(), Module(name="test", routes=[fed])])
