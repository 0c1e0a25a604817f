"""Real Redis servers for the tests (loaded by tests/fixtures.py).

`redis_url`, for tests that only need a Redis, comes from, in order: TEST_REDIS_URL;
Testcontainers when a Docker engine answers; 127.0.0.1:6379 when a Redis answers there (these
machines run one). `own_redis` is a server the test may stop and start: a `redis-server`
process of its own on a free port, never the shared one (without the binary: absent).
Where none can be had the test skips and says why, except when RAMPART_REQUIRE_REDIS=1
(.ci/run sets it): then it fails, so CI never passes with the Redis tests skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.helpers import free_port


def absent(reason: str) -> None:
    if os.environ.get("RAMPART_REQUIRE_REDIS") == "1":
        pytest.fail(f"{reason}; RAMPART_REQUIRE_REDIS=1 requires the Redis tests to run")
    pytest.skip(reason)


def redis_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    from tests.fixtures import docker_answers

    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
    elif docker_answers():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7-alpine") as container:
            yield (f"redis://{container.get_container_host_ip()}:"
                   f"{container.get_exposed_port(6379)}/0")
    elif redis_answers("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/0"
    else:
        absent("no Redis: set TEST_REDIS_URL, start Docker, or run one at 127.0.0.1:6379")


class OwnRedis:
    """A Redis server this test alone uses, and may stop (`stop`) and start again (`start`)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not redis_answers("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        absent("no redis-server binary to start and stop a Redis of the test's own")
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()
