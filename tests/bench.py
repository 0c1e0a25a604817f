"""`make bench`: Rampart's read paths under wrk, next to a bare Litestar route, in one run.

    .venv/bin/python -m tests.bench [--seconds 5] [--rounds 3] [--connections 32] [--workers 2]

Both servers run under granian with the same worker count on this machine, and wrk shares the
same cores, so the ratio between rows is the figure that travels, not the absolute numbers.
Each round measures the bare route before and after the endpoints; the table gives medians.
Uses DATABASE_URL's server when set (in a scratch database `rampart_bench`), else an embedded
PostgreSQL under .data/bench-postgres. Not part of `make test`: speed is measured, never asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import httpx
import psycopg
from litestar import Litestar, get
from psycopg_pool import AsyncConnectionPool

from shared.auth.tokens import generate_secret_paserk
from shared.db import migrations
from shared.settings import DATA_DIR
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]


@get("/bare", sync_to_thread=False)
def bare() -> dict[str, str]:
    return {"status": "ok"}


# The floor under any database-backed read here: a bare Litestar route doing one pooled query
# with psycopg, without Rampart's kernel (auth, limits, envelope, logs, metrics, spans).
_pool: AsyncConnectionPool | None = None


@get("/bare-db/{product_id:uuid}")
async def bare_db(product_id: UUID) -> dict[str, Any]:
    assert _pool is not None
    async with _pool.connection() as conn:
        cur = await conn.execute("SELECT id, sku, name, price_cents FROM catalog.products"
                                 " WHERE id = %s", (product_id,))
        row = await cur.fetchone()
    return {"id": str(row[0]), "sku": row[1], "name": row[2], "price_cents": row[3]}


@asynccontextmanager
async def _bare_pool(_: Litestar) -> AsyncIterator[None]:
    global _pool
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        _pool = AsyncConnectionPool(url, min_size=4, max_size=16, open=False,
                                    kwargs={"autocommit": True})
        await _pool.open()
    yield
    if _pool is not None:
        await _pool.close()


bare_app = Litestar([bare, bare_db], lifespan=[_bare_pool])


@contextmanager
def scratch_database() -> Iterator[str]:
    """A fresh, migrated `rampart_bench` database, dropped afterwards."""
    server = os.environ.get("DATABASE_URL")
    if not server:
        from shared.db.embedded import start_embedded

        server = start_embedded(DATA_DIR / "bench-postgres")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS rampart_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE rampart_bench")
    url = urlunsplit(urlsplit(server)._replace(path="/rampart_bench"))
    try:
        migrations.up(url)
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS rampart_bench WITH (FORCE)")


@contextmanager
def serving(args: list[str], env: dict[str, str], port: int):
    process = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str],
        paths: list[str] | None = None) -> dict[str, float]:
    """wrk against `url`, or round-robin over `paths` on its host when given."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for key, value in headers.items():
        cmd += ["-H", f"{key}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if paths:
            listed = ", ".join(f'"{p}"' for p in paths)
            script.write(f"local paths = {{{listed}}}\nlocal i = 0\n"
                         "request = function()\n  i = i % #paths + 1\n"
                         "  return wrk.format(nil, paths[i])\nend\n")
            script.flush()
            cmd += ["-s", script.name]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def latency(pct: str) -> float:
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(match[1]) * units[match[2]] if match else float("nan")

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
            "p50": latency("50"), "p99": latency("99"),
            "errors": float(non_2xx[1]) if non_2xx else 0.0}


def seed(base: str, database_url: str) -> dict[str, str]:
    """A user, an admin and a product; returns what the benchmarked URLs need."""
    with httpx.Client(base_url=base, timeout=10) as client:
        for email in ("bench@example.com", "admin@example.com"):
            client.post("/v1/users", json={"email": email, "password": "bench password",
                                           "name": "Bench"}).raise_for_status()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("UPDATE identity.users SET role = 'admin'"
                         " WHERE email = 'admin@example.com'")
        token = client.post("/v1/auth/token", json={
            "email": "bench@example.com", "password": "bench password"}).json()["access_token"]
        admin = client.post("/v1/auth/token", json={
            "email": "admin@example.com", "password": "bench password"}).json()["access_token"]
        found: dict[str, Any] = {"token": token, "product_ids": []}
        for i in range(50):
            created = client.post("/v1/products", headers={
                "Authorization": f"Bearer {admin}", "Idempotency-Key": f"bench-{i}"}, json={
                "sku": f"BENCH-{i}", "name": f"Bench product {i}", "price_cents": 1000 + i,
                "currency": "EUR", "category": "bench"})
            created.raise_for_status()
            found["product_ids"].append(created.json()["id"])
        return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    opts = parser.parse_args()
    with scratch_database() as database_url:
        bare_port, app_port = free_port(), free_port()
        env = {"DATABASE_URL": database_url, "TOKEN_SIGNING_KEY": generate_secret_paserk(),
               "RATE_LIMIT_ANON": "100000000/minute", "RATE_LIMIT_USER": "100000000/minute",
               "RATE_LIMIT_ADMIN": "100000000/minute", "DB_POOL_MAX": "16"}
        rampart = [sys.executable, "-m", "shared", "serve", "--port", str(app_port), "--workers",
                   str(opts.workers)]
        granian = [sys.executable, "-m", "granian", "--interface", "asgi", "--workers",
                   str(opts.workers), "--no-ws", "--log-level", "warning", "--port", str(bare_port),
                   "tests.bench:bare_app"]
        # Both servers run throughout; only the one under wrk is busy.
        with serving(rampart, env, app_port) as base, \
                serving(granian, {"BENCH_DATABASE_URL": database_url}, bare_port) as bare_base:
            found = seed(base, database_url)
            auth = {"Authorization": f"Bearer {found['token']}"}
            ids = found["product_ids"]
            targets: list[tuple[str, str, dict[str, str], list[str] | None]] = [
                ("bare Litestar + one psycopg query", f"{bare_base}/bare-db/{ids[0]}", {}, None),
                ("GET /v1/users/me", f"{base}/v1/users/me", auth, None),
                ("GET /v1/products/{id}, one id", f"{base}/v1/products/{ids[0]}", {}, None),
                (f"GET /v1/products/{{id}}, {len(ids)} ids in turn", base, {},
                 [f"/v1/products/{i}" for i in ids]),
                ("GET /v1/products?limit=20", f"{base}/v1/products?limit=20", {}, None),
                (f"GET /v1/inventory/{{id}}, {len(ids)} ids in turn", base, {},
                 [f"/v1/inventory/{i}" for i in ids]),
            ]
            # This VM's speed drifts by tens of percent within minutes. So every round measures
            # the bare route before and after the endpoints, each endpoint's ratio in a round is to
            # the mean of those two, and each figure in the table is its median over the rounds.
            bare_runs: list[dict[str, float]] = []
            runs: dict[str, list[dict[str, float]]] = {name: [] for name, *_ in targets}
            for _ in range(opts.rounds):
                before = wrk(f"{bare_base}/bare", opts.seconds, opts.connections, {})
                measured = [(name, wrk(url, opts.seconds, opts.connections, headers, paths))
                            for name, url, headers, paths in targets]
                after = wrk(f"{bare_base}/bare", opts.seconds, opts.connections, {})
                bare_rps = (before["rps"] + after["rps"]) / 2
                bare_runs += [before, after]
                for name, result in measured:
                    runs[name].append({**result, "ratio": result["rps"] / bare_rps})
    print(f"\nwrk -t2 -c{opts.connections} -d{opts.seconds}s per endpoint in each of "
          f"{opts.rounds} rounds, granian {opts.workers} workers, {os.cpu_count()} cores shared "
          "with wrk and PostgreSQL; medians of the rounds (p99: the worst round in brackets)\n")
    print("| endpoint | req/s | % of bare | p50 ms | p99 ms | non-2xx |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = [("bare Litestar GET /bare", [{**r, "ratio": 1.0} for r in bare_runs]),
            *runs.items()]
    for name, results in rows:
        def mid(key: str, results: list[dict[str, float]] = results) -> float:
            return statistics.median(r[key] for r in results)
        ratios = ", ".join(f"{100 * r['ratio']:.0f}" for r in results)
        share = "100%" if name.startswith("bare Litestar GET") else f"{100 * mid('ratio'):.0f}% " \
            f"({ratios})"
        print(f"| {name} | {mid('rps'):,.0f} | {share} | {mid('p50'):.2f} | {mid('p99'):.2f} "
              f"({max(r['p99'] for r in results):.2f}) | {sum(r['errors'] for r in results):.0f} |")


if __name__ == "__main__":
    main()
