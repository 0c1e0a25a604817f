"""Rampart's payment sandbox as a real HTTP server on loopback, for every test that pays
(loaded by tests/fixtures.py): `rampart payments-sandbox`, one process for the run, reset
before each test that asks for `sandbox`.

The sandbox is never replaced by a fake: timeouts, refused connections and 5xx are real.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_SECRET = f"whsec_test_{secrets.token_hex(16)}"


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PAYMENT_WEBHOOK_SECRET": WEBHOOK_SECRET, "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "shared", "payments-sandbox", "--port", str(port)], cwd=ROOT,
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/_sandbox/behaviour", timeout=1).status_code == 200:
                break
        time.sleep(0.1)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError(process.stderr.read().decode() if process.stderr else "no start")
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class SandboxControl:
    """The sandbox's control routes: behaviour, and its own record of what it charged."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def behave(self, **behaviour: Any) -> None:
        answer = await self.client.put("/_sandbox/behaviour", json=behaviour)
        assert answer.status_code == 200, answer.text

    async def charges(self) -> list[dict[str, Any]]:
        return (await self.client.get("/_sandbox/charges")).json()["data"]

    async def calls(self) -> int:
        return (await self.client.get("/_sandbox/charges")).json()["calls"]

    async def events(self) -> list[dict[str, Any]]:
        return (await self.client.get("/_sandbox/events")).json()["data"]


@pytest.fixture
async def sandbox(sandbox_url: str) -> AsyncIterator[SandboxControl]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as client:
        assert (await client.post("/_sandbox/reset")).status_code == 204
        yield SandboxControl(client)
