"""`rampart serve` end to end: a real granian process, graceful shutdown on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from uuid_utils.compat import uuid7

from shared.auth.principal import Principal
from shared.auth.tokens import TokenService
from tests.fixtures import TEST_SIGNING_KEY, free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workers() -> int:
    return 1


@pytest.fixture
def server_env(request) -> dict[str, str]:
    """More environment for the server; `"redis"` (indirect) points REDIS_URL at a real one."""
    if getattr(request, "param", None) == "redis":
        return {"REDIS_URL": request.getfixturevalue("redis_url"), "REDIS_TIMEOUT_MS": "2000",
                "RATE_LIMIT_USER": "20/hour"}  # refills too slowly to blur the count
    return {}


@pytest.fixture
def server(database_url, workers, server_env):
    process, lines, base = _spawn(database_url, workers, server_env)
    deadline = time.monotonic() + 30
    # Ready, and every worker serving: the tests of several workers mean requests to reach
    # each of them, not all the first one to start.
    while time.monotonic() < deadline:
        try:
            if (httpx.get(f"{base}/health/ready", timeout=1).status_code == 200
                    and "".join(lines).count("Started worker") >= workers):
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        _stop(process)
        raise AssertionError("".join(lines) or "no start")
    yield process, base
    _stop(process)


def _spawn(database_url: str, workers: int, server_env: dict[str, str] | None = None,
           ) -> tuple[subprocess.Popen[bytes], list[str], str]:
    """`rampart serve` in its own process group, and the lines it writes as they come."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "TOKEN_SIGNING_KEY": TEST_SIGNING_KEY,
           "LOG_LEVEL": "WARNING", "RELAY_ENABLED": "false", **(server_env or {})}
    process = subprocess.Popen([sys.executable, "-m", "shared", "serve", "--port", str(port),
                                "--workers", str(workers)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    assert process.stdout is not None
    output = process.stdout  # stdout and stderr together
    threading.Thread(target=lambda: lines.extend(line.decode() for line in output),
                     daemon=True).start()
    return process, lines, f"http://127.0.0.1:{port}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop granian and its workers: SIGKILL to the parent alone would orphan the workers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_sigterm_lets_in_flight_requests_finish_and_exits_0(server) -> None:
    process, base = server
    results: list[int] = []
    client = httpx.Client(base_url=base, timeout=10)
    client.get("/health/live")  # an open keep-alive connection: the next request starts at once

    def register() -> None:
        response = client.post("/v1/users", json={
            "email": "late@example.com", "password": "password 123", "name": "Late"})
        results.append(response.status_code)

    request = threading.Thread(target=register)
    request.start()
    time.sleep(0.01)  # the request is in flight (argon2 hashing) when the signal lands
    process.send_signal(signal.SIGTERM)
    request.join(timeout=10)
    assert results == [201]
    assert process.wait(timeout=30) == 0
    client.close()


@pytest.mark.parametrize("workers", [2])
def test_metrics_count_the_requests_of_every_worker(server) -> None:
    _, base = server
    with httpx.Client(base_url=base, timeout=10) as client:
        for _ in range(20):  # new connections: granian spreads them over both workers
            httpx.get(f"{base}/health/live", timeout=10)
        text = client.get("/metrics").text
    line = next(line for line in text.splitlines()
                if line.startswith('http_requests_total{method="GET",route="/health/live"'))
    assert float(line.rsplit(" ", 1)[1]) >= 20


@pytest.mark.parametrize("workers", [2])
@pytest.mark.parametrize("server_env", ["redis"], indirect=True)
def test_with_redis_one_caller_has_one_budget_across_workers(server) -> None:
    _, base = server
    tokens = TokenService(TEST_SIGNING_KEY, kid="k1", ttl=900)
    caller = {"Authorization": "Bearer " + tokens.issue(Principal(user_id=uuid7(),
                                                                  role="customer"))}
    statuses = []
    for _ in range(45):  # a new connection each time: granian spreads them over both workers
        statuses.append(httpx.get(f"{base}/v1/products", headers=caller, timeout=10).status_code)
        if statuses[-1] == 429:
            break
    assert statuses == [200] * 20 + [429]  # the quota once, not once per worker


@pytest.mark.parametrize("workers", [2])
def test_several_workers_leave_no_metrics_folder_behind(server) -> None:
    process, _ = server
    folder = ROOT / ".data" / f"prometheus-{process.pid}"
    assert folder.is_dir()  # where the workers' metrics live while it runs
    _stop(process)
    assert process.returncode == 0 and not folder.exists()


# Lines granian logs once each as it starts: the moments a group SIGTERM is sent right after.
START_UP = ["Listening at",  # the parent handles signals, no worker forked yet
            "Spawning worker-2",  # both forked, neither serving
            "Started worker"]  # one serving, the other (most often) still starting


@pytest.mark.parametrize("moment", START_UP)
def test_sigterm_to_the_group_during_start_up_stops_every_worker_at_once(
        database_url, moment) -> None:
    # What systemd does by default: SIGTERM to the parent and every worker together. A worker
    # still starting has nothing to drain; it must stop, not wait to be killed after 30 s.
    process, lines, _ = _spawn(database_url, workers=2)
    deadline = time.monotonic() + 30
    while moment not in "".join(lines) and time.monotonic() < deadline:
        time.sleep(0.002)
    assert moment in "".join(lines), "".join(lines)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        # Well before granian's kill timeout (30 s): no worker waited it out. (Its "refused to
        # gracefully stop" line is no proof: a worker that has just exited may race it.)
        code = process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError("still running 10 s after SIGTERM:\n" + "".join(lines)) from None
    assert code == 0, "".join(lines)
