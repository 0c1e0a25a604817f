"""Health endpoints and the readiness contract."""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
import pytest

from tests.helpers import eventually


async def test_live_and_ready(client) -> None:
    live = await client.get("/health/live")
    assert live.status_code == 200 and live.json() == {"status": "pass"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.headers["content-type"].startswith("application/health+json")
    body = ready.json()
    assert body["status"] == "pass"
    assert body["checks"]["postgresql:migrations"][0]["status"] == "pass"


async def test_not_ready_when_migrations_are_behind(client, db_conn) -> None:
    await db_conn.execute("DELETE FROM public.rampart_migrations WHERE version = "
                          "(SELECT max(version) FROM public.rampart_migrations)")
    ready = await client.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["status"] == "fail"
    assert ready.json()["checks"]["postgresql:migrations"][0]["status"] == "fail"


async def test_not_ready_when_the_database_does_not_answer(client, pg_server_url,
                                                           database_url) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    async with await psycopg.AsyncConnection.connect(pg_server_url, autocommit=True) as admin:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = %s", (name,))
    ready = await client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["postgresql:responsive"][0]["status"] == "fail"
    assert "database unavailable" in ready.text and "FATAL" not in ready.text


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/metrics"])
async def test_operational_endpoints_need_no_token(client, path) -> None:
    assert (await client.get(path)).status_code == 200


async def test_metrics_expose_request_and_pool_figures(client) -> None:
    await client.get("/health/live")
    text = (await client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/health/live",status="200"}' in text
    assert "http_request_duration_seconds_bucket" in text
    assert "db_pool_connections" in text


async def test_unknown_methods_share_one_metrics_label(client) -> None:
    for method in ("BREW", "WHEN", "X-INVENT"):  # a client must not be able to add series
        await client.request(method, "/health/live")
    text = (await client.get("/metrics")).text
    assert 'http_requests_total{method="_OTHER"' in text
    assert "BREW" not in text and "X-INVENT" not in text


async def test_not_ready_once_shutdown_has_begun(client, app) -> None:
    app.state.shutting_down = True  # what the lifespan sets first when SIGTERM arrives
    ready = await client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["process:shutdown"][0]["status"] == "fail"


async def test_a_read_while_the_database_is_gone_is_a_503_to_retry(client, pg_server_url,
                                                                   database_url) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    assert (await client.get("/health/ready")).status_code == 200  # the pool holds connections
    async with await psycopg.AsyncConnection.connect(pg_server_url, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
    response = await client.get("/v1/products/01900000-0000-7000-8000-000000000000")
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "2"
    body = response.json()
    assert body["type"].endswith("/service-unavailable") and body["status"] == 503
    assert "terminat" not in response.text.lower() and "psycopg" not in response.text
    # The failure made the pool test its other idle connections and replace the dead ones.
    await eventually(lambda: _status(client, "/v1/products/01900000-0000-7000-8000-000000000000",
                                     404))


async def _status(client, path: str, expected: int) -> bool:
    return (await client.get(path)).status_code == expected
