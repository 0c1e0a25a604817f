"""pay_order under wrk against the sandbox provider, with 0 ms and 50 ms of injected latency,
and GET /health/live measured at the same time (is the event loop still responsive?).

    DATABASE_URL=postgresql://... .venv/bin/python -m bench.payments [--seconds 8]
        [--connections 16] [--workers 2]

Each request pays a different confirmed order (seeded straight into payments.orders, as its
OrderConfirmed would) with its own Idempotency-Key. The sandbox runs as its own process
(`rampart payments-sandbox`); wrk, both servers and PostgreSQL share this machine's cores, so
only ratios within one run mean much. Speed is measured here, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from uuid_utils.compat import uuid7

from shared.auth.principal import Principal
from shared.auth.tokens import TokenService, generate_secret_paserk
from shared.db import migrations
from tests.helpers import free_port

# wrk's Lua: each request pays the next order of this thread's share, once; `done` prints
# the figures as one JSON line.
LUA = """
local orders, n = {}, 0
local counter = 0
function setup(thread) counter = counter + 1; thread:set("me", counter) end
function init(args)
  for line in io.lines(args[1]) do n = n + 1; orders[n] = line end
  i = tonumber(me) or 1
end
request = function()
  local id = orders[i]; i = i + %(threads)d
  return wrk.format("POST", "/v1/orders/" .. id .. "/payments",
    {["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/json",
     ["Idempotency-Key"] = id}, '{"payment_method": "pm_card_visa"}')
end
"""
# The baseline, in the same run: one idempotent write with no provider behind it (a stock
# adjustment by an admin, over 1,000 products so rows are rarely contended), each request with
# a key of its own.
ADJUST = """
local counter, n, products = 0, 0, {}
function setup(thread) counter = counter + 1; thread:set("me", counter) end
function init(args) for line in io.lines(args[1]) do products[#products + 1] = line end end
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/inventory/" .. products[n %% #products + 1] .. "/adjustments",
    {["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/json",
     ["Idempotency-Key"] = me .. "-" .. n}, '{"delta": 1, "reason": "bench"}')
end
"""
DONE = """
done = function(summary, latency, requests)
  local codes = summary.errors.status
  io.write(string.format('{"rps": %.1f, "p50": %.2f, "p99": %.2f, "non2xx": %d}\\n',
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, codes))
end
"""


@contextmanager
def serving(args: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    """A server process, once it answers anything on its port; SIGTERM at the end."""
    process = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
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


@contextmanager
def scratch_database(name: str = "rampart_bench_payments") -> Iterator[str]:
    """A scratch database of its own on DATABASE_URL's server (required)."""
    server = os.environ["DATABASE_URL"]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    try:
        migrations.up(url)
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run_wrk(options: list[str], url: str, script: str,
            *script_args: str) -> subprocess.Popen[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    return subprocess.Popen(["wrk", *options, "-s", f.name, url, "--", *script_args],
                            stdout=subprocess.PIPE, text=True)


def figures(process: subprocess.Popen[str]) -> dict[str, float]:
    out, _ = process.communicate(timeout=120)
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--orders", type=int, default=40_000)
    parser.add_argument("--pool", type=int, default=16, help="DB_POOL_MAX per worker")
    opts = parser.parse_args()
    key = generate_secret_paserk()
    user = uuid7()
    tokens = TokenService(key, kid="k1", ttl=3600)
    token = tokens.issue(Principal(user_id=user, role="customer"))
    admin = tokens.issue(Principal(user_id=uuid7(), role="admin"))
    with scratch_database() as database_url:
        sandbox_port, app_port = free_port(), free_port()
        secret = "whsec_bench_0123456789abcdef"
        sandbox = [sys.executable, "-m", "shared", "payments-sandbox", "--port", str(sandbox_port)]
        rampart = [sys.executable, "-m", "shared", "serve", "--port", str(app_port),
                   "--workers", str(opts.workers)]
        env = {"DATABASE_URL": database_url, "TOKEN_SIGNING_KEY": key, "LOG_LEVEL": "WARNING",
               "RATE_LIMIT_USER": "100000000/minute", "RATE_LIMIT_ANON": "100000000/minute",
               "PAYMENT_PROVIDER_URL": f"http://127.0.0.1:{sandbox_port}",
               "PAYMENT_WEBHOOK_SECRET": secret, "DB_POOL_MAX": str(opts.pool)}
        results = []
        stock = [uuid7() for _ in range(1000)]
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.cursor().executemany("INSERT INTO inventory.stock_levels (product_id)"
                                      " VALUES (%s)", [(p,) for p in stock])
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as products:
            products.write("\n".join(str(p) for p in stock))
        with serving(sandbox, {"PAYMENT_WEBHOOK_SECRET": secret}, sandbox_port) as sandbox_base, \
                serving(rampart, env, app_port) as base:
            adjust = run_wrk(["-t2", f"-c{opts.connections}", f"-d{opts.seconds}s"], base,
                             ADJUST % {"token": admin} + DONE, products.name)
            baseline = figures(adjust)
            for latency in (0, 50):
                orders = [uuid7() for _ in range(opts.orders)]
                with psycopg.connect(database_url, autocommit=True) as conn, \
                        conn.cursor().copy("COPY payments.orders (order_id, user_id, status,"
                                           " total_cents, currency, updated_at) FROM STDIN") as cp:
                    now = datetime.now(UTC)
                    for order_id in orders:
                        cp.write_row((order_id, user, "confirmed", 1000, "EUR", now))
                httpx.put(f"{sandbox_base}/_sandbox/behaviour",
                          json={"latency_ms": latency}).raise_for_status()
                with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as ids:
                    ids.write("\n".join(str(o) for o in orders))
                pay = run_wrk(["-t2", f"-c{opts.connections}", f"-d{opts.seconds}s"], base,
                              LUA % {"threads": 2, "token": token} + DONE, ids.name)
                live = run_wrk(["-t1", "-c1", f"-d{opts.seconds}s"], f"{base}/health/live",
                               DONE)
                results.append((latency, figures(pay), figures(live)))
                charged = httpx.get(f"{sandbox_base}/_sandbox/charges").json()["data"]
                results[-1][1]["charges"] = len(charged)
                httpx.post(f"{sandbox_base}/_sandbox/reset").raise_for_status()
    print(f"\npay_order, wrk -t2 -c{opts.connections} -d{opts.seconds}s, granian "
          f"{opts.workers} workers (DB_POOL_MAX={opts.pool}), sandbox in its own process, "
          f"{os.cpu_count()} shared cores;"
          " /health/live by a second wrk -t1 -c1 at the same time\n")
    print(f"baseline, POST /v1/inventory/{{id}}/adjustments at the same concurrency: "
          f"{baseline['rps']:,.0f} req/s, p50 {baseline['p50']:.1f} ms, p99 "
          f"{baseline['p99']:.1f} ms, non-2xx {baseline['non2xx']}\n")
    print("| injected latency | pay req/s | p50 ms | p99 ms | non-2xx | charges | "
          "/health/live p50 / p99 ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for latency, pay, live in results:
        print(f"| {latency} ms | {pay['rps']:,.0f} | {pay['p50']:.1f} | {pay['p99']:.1f} | "
              f"{pay['non2xx']} | {pay['charges']} | {live['p50']:.2f} / {live['p99']:.2f} |")


if __name__ == "__main__":
    main()
