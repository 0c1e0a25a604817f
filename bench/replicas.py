"""The figures of issue 14 (caches and limits across processes), in one run, next to the bare
Litestar route of bench/bare.py:

    .venv/bin/python -m bench.replicas [--seconds 3] [--rounds 2] [--connections 32]

- product read, cached and uncached (PRODUCT_CACHE_MAX_ENTRIES=0), and GET /v1/users/me with
  the in-process limiter and with Redis (REDIS_URL, else 127.0.0.1:6379): three Rampart
  servers of `--workers` workers each, measured in turn, each round between two bare runs;
- the product cache's hit ratio over those rounds (from /metrics);
- RSS per worker before and after 10,000 products are cached;
- commit -> drop in another instance: two app instances in this process (one clock), a
  writer's transaction NOTIFYing, the time from just before its COMMIT to the other
  instance's drop.
Not part of `make test`: speed is measured, never asserted. Needs wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import httpx
import psycopg

from bench.run import Server, rss_mb, scratch_database
from shared.auth.tokens import generate_secret_paserk
from tests.helpers import free_port


@contextmanager
def serving(name: str, args: list[str], env: dict[str, str], port: int,
            ready: str = "/health/live") -> Iterator[Server]:
    server = Server(name, args, env, port, ready)
    try:
        yield server
    finally:
        server.stop()


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


def seed(base: str, database_url: str) -> dict[str, Any]:
    """A user with a token, and one product (made by an admin, through the API)."""
    with httpx.Client(base_url=base, timeout=10) as client:
        tokens = {}
        for email in ("bench@example.com", "admin@example.com"):
            client.post("/v1/users", json={"email": email, "password": "bench password",
                                           "name": "Bench"}).raise_for_status()
            if email.startswith("admin"):
                with psycopg.connect(database_url, autocommit=True) as conn:
                    conn.execute("UPDATE identity.users SET role = 'admin' WHERE email = %s",
                                 (email,))
            tokens[email] = client.post("/v1/auth/token", json={
                "email": email, "password": "bench password"}).json()["access_token"]
        created = client.post("/v1/products", headers={
            "Authorization": f"Bearer {tokens['admin@example.com']}",
            "Idempotency-Key": "bench-1"}, json={
            "sku": "BENCH-1", "name": "Bench product", "price_cents": 1000, "currency": "EUR",
            "category": "bench"})
        created.raise_for_status()
        return {"token": tokens["bench@example.com"], "product_ids": [created.json()["id"]]}


def metric(text: str, name: str, cache: str = "catalog.products") -> float:
    total = 0.0
    for match in re.finditer(rf'^{name}\{{[^}}]*cache="{re.escape(cache)}"[^}}]*\}} (\S+)$',
                             text, re.M):
        total += float(match[1])
    return total


def seed_products(database_url: str, n: int) -> list[str]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "INSERT INTO catalog.products (id, sku, name, description, price_cents, currency,"
            " category, created_at, updated_at) SELECT gen_random_uuid(), 'MANY-' || i,"
            " 'Product ' || i, 'A product description of a typical length, some words long.',"
            " 100 + i, 'EUR', 'cat-' || (i %% 50), now(), now()"
            " FROM generate_series(1, %s) AS i RETURNING id", (n,)).fetchall()
    return [str(r[0]) for r in rows]


async def commit_to_drop(database_url: str, samples: int) -> list[float]:
    from features.catalog.caches import PRODUCTS
    from shared.app import create_app
    from shared.db.invalidations import notify
    from tests.fixtures import make_settings, serve_in_loop

    settings = make_settings(log_level="ERROR")
    reader = create_app(settings, database_url=database_url)
    dropped: dict[str, float] = {}
    async with serve_in_loop(reader):
        cache = reader.state.caches(PRODUCTS)
        original = cache.received

        def received(key: str) -> None:
            dropped[key] = time.perf_counter()
            original(key)

        cache.received = received  # type: ignore[method-assign]
        # Polled, not awaited on an event: the drop is timed inside `received` either way.
        delays = []
        async with await psycopg.AsyncConnection.connect(database_url) as writer:
            for _ in range(samples):
                key = str(UUID(int=int.from_bytes(os.urandom(16), "big")))
                await writer.execute("BEGIN")
                await notify(writer, PRODUCTS.name, key)  # type: ignore[arg-type]
                committing = time.perf_counter()
                await writer.execute("COMMIT")
                while key not in dropped:  # noqa: ASYNC110
                    await asyncio.sleep(0.0002)
                delays.append((dropped[key] - committing) * 1000)
                await asyncio.sleep(0.005)
    return delays


def print_table(opts, bare_runs, runs) -> None:
    print(f"\nwrk -t2 -c{opts.connections} -d{opts.seconds}s, {opts.rounds} rounds, granian "
          f"{opts.workers} workers; medians of the rounds, ratio to the bare route per round\n")
    print("| endpoint | req/s | % of bare (rounds) | p50 ms | p99 ms | p99/p50 | non-2xx |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = [("bare Litestar GET /bare", [{**r, "ratio": 1.0} for r in bare_runs]),
            *runs.items()]
    for name, results in rows:
        def mid(key: str, results=results) -> float:
            return statistics.median(r[key] for r in results)
        ratios = ", ".join(f"{100 * r['ratio']:.0f}" for r in results)
        print(f"| {name} | {mid('rps'):,.0f} | {100 * mid('ratio'):.0f}% ({ratios}) | "
              f"{mid('p50'):.2f} | {mid('p99'):.2f} | {mid('p99') / mid('p50'):.1f} | "
              f"{sum(r['errors'] for r in results):.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    opts = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    with scratch_database() as (database_url, _):
        ports = {name: free_port() for name in ("bare", "cached", "uncached", "redis")}
        base_env = {"DATABASE_URL": database_url, "TOKEN_SIGNING_KEY": generate_secret_paserk(),
                    "RATE_LIMIT_ANON": "100000000/minute", "RATE_LIMIT_USER": "100000000/minute",
                    "RATE_LIMIT_ADMIN": "100000000/minute", "DB_POOL_MAX": "16",
                    "REDIS_URL": ""}
        envs = {"cached": {}, "uncached": {"PRODUCT_CACHE_MAX_ENTRIES": "0"},
                "redis": {"REDIS_URL": redis_url}}

        def rampart(name: str) -> list[str]:
            return [sys.executable, "-m", "shared", "serve", "--port", str(ports[name]),
                    "--workers", str(opts.workers)]

        granian = [sys.executable, "-m", "granian", "--interface", "asgi", "--workers",
                   str(opts.workers), "--no-ws", "--log-level", "warning", "--port",
                   str(ports["bare"]), "bench.bare:app"]
        os.environ.pop("REDIS_URL", None)
        with serving("cached", rampart("cached"), {**base_env, **envs["cached"]},
                     ports["cached"]) as cached_server, \
                serving("uncached", rampart("uncached"), {**base_env, **envs["uncached"]},
                        ports["uncached"]) as uncached_server, \
                serving("redis", rampart("redis"), {**base_env, **envs["redis"]},
                        ports["redis"]) as redis_server, \
                serving("bare", granian, {"BENCH_DATABASE_URL": database_url}, ports["bare"],
                        "/bare") as bare_server:
            cached, uncached = cached_server.base, uncached_server.base
            red, bare = redis_server.base, bare_server.base
            found = seed(cached, database_url)
            auth = {"Authorization": f"Bearer {found['token']}"}
            pid = found["product_ids"][0]
            targets = [
                ("GET /v1/products/{id}, cached", f"{cached}/v1/products/{pid}", {}),
                ("GET /v1/products/{id}, no cache", f"{uncached}/v1/products/{pid}", {}),
                ("GET /v1/users/me, in-process limiter", f"{cached}/v1/users/me", auth),
                ("GET /v1/users/me, Redis limiter", f"{red}/v1/users/me", auth),
            ]
            runs: dict[str, list[dict[str, float]]] = {name: [] for name, *_ in targets}
            bare_runs = []
            for _ in range(opts.rounds):
                before = wrk(f"{bare}/bare", opts.seconds, opts.connections, {})
                measured = [(name, wrk(url, opts.seconds, opts.connections, headers))
                            for name, url, headers in targets]
                after = wrk(f"{bare}/bare", opts.seconds, opts.connections, {})
                bare_rps = (before["rps"] + after["rps"]) / 2
                bare_runs += [before, after]
                for name, result in measured:
                    runs[name].append({**result, "ratio": result["rps"] / bare_rps})
            print_table(opts, bare_runs, runs)
            text = httpx.get(f"{cached}/metrics").text
            hits, misses = metric(text, "cache_hits_total"), metric(text, "cache_misses_total")

            # RSS per worker with 10,000 products cached.
            cached_server.refresh()
            workers = cached_server.workers
            rss_before = [round(rss_mb(p), 1) for p in workers]
            many = seed_products(database_url, 10_000)
            for _ in range(4):  # each worker sees every id (connections spread over workers)
                wrk(cached, 6, 16, {}, [f"/v1/products/{i}" for i in many])
            time.sleep(6)  # the gauges refresh every 5 s
            text = httpx.get(f"{cached}/metrics").text
            entries = [float(m[1]) for m in re.finditer(
                r'^cache_entries\{cache="catalog.products",pid="\d+"\} (\S+)$', text, re.M)]
            rss_after = [round(rss_mb(p), 1) for p in workers]
        delays = asyncio.run(commit_to_drop(database_url, 300))

    print(f"\nproduct cache hit ratio over the rounds: {hits / max(hits + misses, 1):.4%} "
          f"({hits:.0f} hits, {misses:.0f} misses)")
    print(f"RSS per worker (MB): before {rss_before}, after caching 10,000 products "
          f"{rss_after} (entries held per worker: {entries})")
    delays.sort()
    print(f"commit -> drop in another instance, {len(delays)} samples: p50 "
          f"{statistics.median(delays):.2f} ms, p99 {delays[int(len(delays) * 0.99) - 1]:.2f} ms,"
          f" max {delays[-1]:.2f} ms")


if __name__ == "__main__":
    main()
