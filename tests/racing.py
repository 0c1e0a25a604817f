"""Requests that really overlap, for race tests.

Litestar's AsyncTestClient (the `client` fixture) runs each request to completion through a
blocking portal on another thread, so `asyncio.gather` over it sends one request at a time and
a "race" never races. `racing_client(app)` serves the app, lifespan included, in the test's own
event loop behind httpx's ASGI transport: gathered requests interleave at every await, as they
do on a real server. A test module opts in by overriding `client`:

    @pytest.fixture
    async def client(app):
        async with racing_client(app) as client:
            yield client
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import httpx
from litestar import Litestar
from uuid_utils.compat import uuid7

from shared.auth.principal import Principal


@asynccontextmanager
async def racing_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    # The lifespan runs in a task of its own: pytest-asyncio may set a fixture up and tear it
    # down in different tasks, and Litestar's lifespan must be left by the task that entered.
    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    server = asyncio.create_task(serve())
    ready = asyncio.create_task(started.wait())
    await asyncio.wait({server, ready}, return_when=asyncio.FIRST_COMPLETED)
    if server.done():
        ready.cancel()
        server.result()  # the startup error
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
