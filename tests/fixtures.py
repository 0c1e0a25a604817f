"""Database and application fixtures for every test (loaded with `-p tests.fixtures`).

Where the PostgreSQL server comes from, in order:
1. TEST_DATABASE_URL, if set (any PostgreSQL 15+ you point it at);
2. Testcontainers, when a Docker engine answers a ping;
3. the embedded PostgreSQL wheel, data under .data/test-postgres.

The real migrations build one template database per run; each test gets its own database
cloned from it (CREATE DATABASE ... TEMPLATE), so tests never share state.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import httpx
import psycopg
import pytest
from litestar import Litestar
from uuid_utils.compat import uuid7

from shared.app import create_app
from shared.auth.principal import Principal
from shared.auth.tokens import generate_secret_paserk
from shared.db import migrations
from shared.settings import DATA_DIR, Settings, load_settings
from tests.helpers import eventually, free_port
from tests.payments_sandbox import sandbox, sandbox_url
from tests.redis_fixtures import own_redis, redis_url

# fixtures; helpers for tests
__all__ = ["eventually", "free_port", "own_redis", "redis_url", "sandbox", "sandbox_url"]

TEST_SIGNING_KEY = generate_secret_paserk()
# Tests look at spans (DB statements, event handlers), so record them as an exporter would;
# tests/test_tracing.py checks the default choice separately.
os.environ.setdefault("OTEL_TRACES_SAMPLER", "always_on")


def docker_answers() -> bool:
    """A raw GET /_ping on the Docker socket: well under a millisecond either way."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return bool(os.environ.get("DOCKER_HOST"))
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            sock.connect(host.removeprefix("unix://"))
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b" 200 " in sock.recv(64)
    except OSError:
        return False


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database (works for TCP and socket URLs)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
    elif docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17-alpine", driver="psycopg") as pg:
            yield pg.get_connection_url().replace("postgresql+psycopg://", "postgresql://")
    else:
        from shared.db.embedded import start_embedded

        url = start_embedded(DATA_DIR / "test-postgres")
        # A throwaway test server need not survive a power cut: skip the fsyncs that make
        # CREATE DATABASE and every commit slow. Never done to the development database.
        with psycopg.connect(url, autocommit=True) as conn:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(f"ALTER SYSTEM SET {setting} = off")
            conn.execute("SELECT pg_reload_conf()")
        yield url


@pytest.fixture(scope="session")
def template_db(pg_server_url: str) -> Iterator[str]:
    name = f"rampart_tpl_{os.getpid()}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    migrations.up(with_database(pg_server_url, name))
    yield name
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _dropper(pg_server_url: str) -> Iterator[queue.Queue[str | None]]:
    """Drops finished test databases in a background thread, off the tests' critical path."""
    names: queue.Queue[str | None] = queue.Queue()

    def drop_all() -> None:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            while (name := names.get()) is not None:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    thread = threading.Thread(target=drop_all, name="drop-test-databases", daemon=True)
    thread.start()
    yield names
    names.put(None)
    thread.join()


@pytest.fixture
def database_url(pg_server_url: str, template_db: str,
                 _dropper: queue.Queue[str | None]) -> Iterator[str]:
    """A fresh database built from the real migrations, dropped after the test."""
    name = f"rampart_test_{uuid7().hex}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    yield with_database(pg_server_url, name)
    _dropper.put(name)


def make_settings(**overrides: Any) -> Settings:
    env = {"TOKEN_SIGNING_KEY": TEST_SIGNING_KEY, "RATE_LIMIT_ANON": "100000/minute",
           "RATE_LIMIT_USER": "100000/minute", "RATE_LIMIT_ADMIN": "100000/minute",
           "RATE_LIMIT_LOGIN": "1000/minute", "LOG_LEVEL": "WARNING",
           "RELAY_ENABLED": "false",
           # Without a relay every event published stays due and would read as the relays'
           # lag: pacing is tested on purpose (tests/test_pacing.py), not in every test.
           "OUTBOX_PACING_LAG_MS": "0"}
    env.update({k.upper(): str(v) for k, v in overrides.items()})
    return load_settings(env)


@pytest.fixture
def settings() -> Settings:
    """Override in a test module to change configuration (rate limits, relay...)."""
    return make_settings()


@pytest.fixture
def app(settings: Settings, database_url: str) -> Litestar:
    return create_app(settings, database_url=database_url)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """The app, lifespan included, served in the test's own event loop through httpx's ASGI
    transport: requests gathered with `asyncio.gather` really interleave, as on a server.

    (Litestar's AsyncTestClient runs each request to completion on a portal thread, so a
    "race" over it never races.)
    """
    async with serve_in_loop(app) as c:
        yield c


@contextlib.asynccontextmanager
async def serve_in_loop(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """What `client` does, for a test that needs more than one app (replicas of one service)."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        # Litestar's lifespan must be left by the task that entered it; pytest-asyncio may set
        # a fixture up and tear it down in different tasks, so the lifespan gets its own.
        async with app.lifespan():
            started.set()
            await stop.wait()

    server = asyncio.create_task(serve())
    ready = asyncio.create_task(started.wait())
    await asyncio.wait({server, ready}, return_when=asyncio.FIRST_COMPLETED)
    if server.done():
        ready.cancel()
        server.result()  # raises the startup error
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://rampart.test") as c:
            yield c
    finally:
        stop.set()
        await server


def bearer(app: Litestar, role: str = "admin", user_id: UUID | None = None) -> dict[str, str]:
    """Authorization for a caller who need not exist: enough where only the role matters."""
    principal = Principal(user_id=user_id or uuid7(), role=role)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {app.state.tokens.issue(principal)}"}


class Api:
    """Small helpers tests use to set the scene through the public API."""

    def __init__(self, client: httpx.AsyncClient, database_url: str) -> None:
        self.client = client
        self.database_url = database_url

    async def register(self, email: str | None = None, password: str = "correct horse 1",
                       name: str = "Test User") -> dict[str, Any]:
        email = email or f"user-{uuid7().hex[-12:]}@example.com"
        response = await self.client.post("/v1/users", json={
            "email": email, "password": password, "name": name})
        assert response.status_code == 201, response.text
        return response.json()

    async def login(self, email: str, password: str = "correct horse 1") -> dict[str, Any]:
        response = await self.client.post("/v1/auth/token", json={
            "email": email, "password": password})
        assert response.status_code == 200, response.text
        return response.json()

    async def user_headers(self, role: str = "customer") -> dict[str, str]:
        """Register a fresh user (promoted to `role` in the database) and log in."""
        user = await self.register()
        if role != "customer":
            async with await psycopg.AsyncConnection.connect(self.database_url,
                                                             autocommit=True) as conn:
                await conn.execute("UPDATE identity.users SET role = %s WHERE id = %s",
                                   (role, user["id"]))
        tokens = await self.login(user["email"])
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    async def admin_headers(self) -> dict[str, str]:
        return await self.user_headers("admin")


@pytest.fixture
def api(client: httpx.AsyncClient, database_url: str) -> Api:
    return Api(client, database_url)


@pytest.fixture
async def db_conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A direct autocommit connection to the test database, for arranging and asserting."""
    from psycopg.rows import dict_row

    async with await psycopg.AsyncConnection.connect(
            database_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


async def page_through(client: httpx.AsyncClient, path: str, params: dict[str, Any],
                       headers: dict[str, str] | None = None) -> tuple[list[str], int]:
    """Follow `next_cursor` to the end of a list; return every item id and the page count.

    Asserts the paging contract on the way: 200 each time, `Link: rel="next"` exactly when
    there is a next page.
    """
    seen: list[str] = []
    cursor, pages = None, 0
    while True:
        response = await client.get(path, headers=headers,
                                    params=params | ({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            return seen, pages
        link = response.headers["link"]
        assert link.startswith(f"<{path}?") and link.endswith('>; rel="next"'), link


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """Assert a response is an RFC 9457 problem of this status and type; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"https://rampart.dev/problems/{slug}", body
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    return body



async def store_event(db_conn: Any, event_type: str, payload: str, subscriber: str) -> UUID:
    """An event as if some publisher had stored it (any payload, a malformed one too), with one
    delivery for `subscriber`; returns the event id."""
    event_id, aggregate = uuid7(), uuid7()
    await db_conn.execute(
        "WITH e AS (INSERT INTO kernel.outbox_events (id, type, aggregate_id, payload,"
        " occurred_at) VALUES (%s, %s, %s, %s, now()) RETURNING seq)"
        " INSERT INTO kernel.outbox_deliveries (id, event_id, subscriber, aggregate_id, seq)"
        " SELECT %s, %s, %s, %s, seq FROM e",
        (event_id, event_type, aggregate, payload, uuid7(), event_id, subscriber, aggregate))
    return event_id


async def failed_delivery(db_conn: Any, event_id: UUID) -> dict[str, Any]:
    """Wait until the event's delivery has failed at least once; its state, attempts, error."""

    async def failed() -> dict[str, Any] | None:
        return await (await db_conn.execute(
            "SELECT state, attempts, last_error FROM kernel.outbox_deliveries"
            " WHERE event_id = %s AND last_error IS NOT NULL", (event_id,))).fetchone()

    return await eventually(failed)


async def waiting_on_a_lock(db_conn: Any, sessions: int = 1) -> None:
    """Wait until `sessions` sessions of the test database wait on a lock (a race is on)."""

    async def waiting() -> bool:
        row = await (await db_conn.execute(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'")).fetchone()
        return row["n"] == sessions

    await eventually(waiting)
