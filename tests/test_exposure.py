"""What an outsider sees: private answers are never cached, and in production /metrics and the
docs are closed unless configured open (README, "Production exposure")."""

from __future__ import annotations

import pytest
from uuid_utils.compat import uuid7

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
    page = await client.get("/schema")
    assert page.status_code == 200 and "/schema/assets/swagger-ui-bundle.js" in page.text
    assert "https://" not in page.text.split("<body>")[0]  # no CDN
    script = await client.get("/schema/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript") and len(script.content) > 100_000
    csp = page.headers["content-security-policy"]
    assert "https:" not in csp and "'self'" in csp


class TestProduction:
    @pytest.fixture
    def settings(self):
        return make_settings(app_env="production", database_url="postgresql://unused/db")

    async def test_metrics_and_docs_are_not_served(self, client) -> None:
        problem(await client.get("/metrics"), 404, "not-found")
        for path in ("/schema", "/schema/swagger", "/schema/openapi.json"):
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
