"""What an outsider sees: private answers are never cached, and in production /metrics and the
docs are closed unless configured open (README, "Production exposure")."""

from __future__ import annotations

import hashlib

import pytest
from uuid_utils.compat import uuid7

from shared.http.docs import SCALAR, SCALAR_DIR, SCALAR_JS
from tests.fixtures import bearer, make_settings, problem
from tests.saga import order_in

TOKEN = "a-long-random-metrics-token"


async def test_answers_to_a_caller_with_credentials_are_not_stored(app, client, api) -> None:
    headers = await api.user_headers()
    me = await client.get("/v1/users/me", headers=headers)
    assert me.status_code == 200 and me.headers["cache-control"] == "no-store"
    users = await client.get("/v1/users", headers=bearer(app))
    assert users.status_code == 200 and users.headers["cache-control"] == "no-store"
    denied = await client.get("/v1/users", headers=headers)  # a 403 is the caller's too
    assert denied.status_code == 403 and denied.headers["cache-control"] == "no-store"
    # Anonymous answers are left to the route: the kernel adds nothing.
    assert "cache-control" not in (await client.get("/v1/products")).headers


async def test_a_personal_answer_with_an_etag_may_only_be_revalidated(app, client,
                                                                     db_conn) -> None:
    owner = uuid7()
    order_id = await order_in(db_conn, "pending", user_id=owner)
    read = await client.get(f"/v1/orders/{order_id}", headers=bearer(app, "customer", owner))
    assert read.headers["etag"] and read.headers["cache-control"] == "private, no-cache"


async def test_a_route_that_says_its_answer_is_public_keeps_saying_so(app, client) -> None:
    """A product is the same for everyone, token or not: its own Cache-Control stands."""
    created = await client.post("/v1/products", headers={**bearer(app), "Idempotency-Key": "k"},
                                json={"sku": "CC-1", "name": "n", "price_cents": 1,
                                      "currency": "EUR", "category": "c"})
    assert created.status_code == 201, created.text
    read = await client.get(created.headers["location"], headers=bearer(app))
    assert read.headers["etag"] and read.headers["cache-control"] == "public, no-cache"


async def test_unknown_schema_paths_are_problem_json(client) -> None:
    problem(await client.get("/schema/nope"), 404, "not-found")
    problem(await client.get("/schema/assets/nope.js"), 404, "not-found")


async def test_docs_serve_their_assets_from_rampart(client) -> None:
    for path, script, cache_control in (
            ("/schema", f"/schema/assets/{SCALAR_JS}", "public, max-age=31536000, immutable"),
            ("/schema/swagger", "/schema/assets/swagger-ui-bundle.js", "public, max-age=86400")):
        page = await client.get(path)
        assert page.status_code == 200 and f'src="{script}"' in page.text, path
        assert "https://" not in page.text.split("<body>")[0]  # no CDN
        csp = page.headers["content-security-policy"]
        assert "https:" not in csp and "'self'" in csp
        answer = await client.get(script)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(
            "text/javascript") and len(answer.content) > 100_000
        assert answer.headers["cache-control"] == cache_control
    assert "https://" not in (await client.get("/schema")).text  # nor a remote stylesheet


def test_the_vendored_scalar_is_the_file_its_manifest_names() -> None:
    """The bundle is byte for byte the one npm ships as `@scalar/api-reference` at the
    manifest's version (shared/http/vendor/scalar-api-reference/manifest.toml)."""
    body = (SCALAR_DIR / SCALAR["file"]).read_bytes()
    assert hashlib.sha256(body).hexdigest() == SCALAR["sha256"]
    assert SCALAR["version"] in SCALAR_JS and SCALAR["license"] == "MIT"
    assert "MIT License" in (SCALAR_DIR / "LICENSE").read_text()


class TestProduction:
    @pytest.fixture
    def settings(self):
        return make_settings(app_env="production", database_url="postgresql://unused/db")

    async def test_metrics_and_docs_are_not_served(self, client) -> None:
        problem(await client.get("/metrics"), 404, "not-found")
        for path in ("/schema", "/schema/swagger", "/schema/scalar", "/schema/openapi.json",
                     f"/schema/assets/{SCALAR_JS}", "/schema/assets/swagger-ui.css"):
            problem(await client.get(path), 404, "not-found")
        assert (await client.get("/health/live")).status_code == 200


class TestMetricsToken:
    @pytest.fixture
    def settings(self):
        return make_settings(app_env="production", database_url="postgresql://unused/db",
                             metrics_token=TOKEN, docs_enabled="true")

    async def test_metrics_need_the_token(self, client) -> None:
        problem(await client.get("/metrics"), 401, "unauthenticated")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        problem(wrong, 401, "unauthenticated")
        ok = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and "http_requests_total" in ok.text
        assert ok.headers["cache-control"] == "no-store"

    async def test_docs_can_be_opened_in_production(self, client) -> None:
        assert (await client.get("/schema/openapi.json")).status_code == 200
