"""Where a create's CPU goes, without granian or wrk: the app called as ASGI in this process.

    .venv/bin/python -m bench.inprocess [--requests 3000] [--connections 1 16] [--rounds 2]
    .venv/bin/python -m bench.inprocess --saga order [--requests 600] [--connections 1 16]
    .venv/bin/python -m bench.inprocess --drain 4000 [--rounds 2]

Drives `POST /v1/products` through the whole Rampart app (lifespan, middleware, the
Idempotency-Key kernel, the slice), with its relay off and then on, and the creation's floor
(`POST /bare-create`, bench/bare.py) beside them, N requests at C at a time on uvloop. Reports
this process's CPU per request (`time.process_time`: with the relay on, its claims and
deliveries of ProductCreated are counted too, as they are in a server: the count starts once
the warm-up's deliveries are done and ends once the measured ones' are) and the in-process
latency. `--saga order`: two-line orders by seeded customers instead (`POST /v1/orders`, the
floor's `POST /bare-order`), each one's whole saga counted with the relay on. PostgreSQL runs
in its own processes and is not counted. With no HTTP server, no socket and no load generator
sharing the cores, the figures move far less from run to run than wrk's on this VM: an A/B of
a change to the request path or the relay shows here first. Variants alternate round by
round. Uses DATABASE_URL's server when set, else the embedded PostgreSQL; a scratch database
per variant and round, dropped afterwards. Speed is measured here, never asserted.

`--drain N`: the relay's own CPU per command, apart from the requests'. N creates with the
relay off leave N ProductCreated (2N deliveries) in the outbox; then the app starts with its
relay on and this process's CPU is counted until none is pending: claims in full batches, the
handlers' statements and the acknowledgements, nothing else running. `--saga order`: N
two-line orders instead, and the count runs until each has been reserved, confirmed and
notified (every delivery their events and their handlers' events make).

    .venv/bin/python -m bench.inprocess --drain 2000 --saga order [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from uuid_utils.compat import uuid7

if TYPE_CHECKING:
    from bench.scenarios import Seed

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
VARIANTS = ("floor", "rampart, relay off", "rampart, relay on")
WARMUP = 200


@dataclass(frozen=True)
class Result:
    variant: str
    connections: int
    statuses: dict[int, int]
    cpu_ms: float  # this process's CPU per request
    p50_ms: float
    p99_ms: float


async def call(app: Asgi, method: str, path: str, headers: dict[str, str],
               body: bytes) -> int:
    """One request through the ASGI app; answers its status."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "state": {},
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


Call = tuple[str, dict[str, str], bytes]  # path, headers, body of one POST


def creates(path: str, auth: dict[str, str], count: int, prefix: str) -> list[Call]:
    """`count` product creates, each with its own SKU and Idempotency-Key."""
    return [(path, {**auth, "host": "bench", "content-type": "application/json",
                    "idempotency-key": f"{prefix}-{n}"},
             json.dumps({"sku": f"{prefix}-{n}", "name": f"Product {n}", "price_cents": 1234,
                         "currency": "EUR", "category": "bench",
                         "description": "An in-process bench product."}).encode())
            for n in range(count)]


def orders(seed: Seed, count: int, prefix: str) -> list[Call]:
    """`count` two-line orders (as the HTTP bench's), the seeded customers in turn."""
    products = seed.product_ids
    return [("/v1/orders", {"authorization": f"Bearer {seed.users[n % len(seed.users)][2]}",
                            "host": "bench", "content-type": "application/json",
                            "idempotency-key": f"{prefix}-{n}"},
             json.dumps({"items": [
                 {"product_id": products[n % len(products)], "quantity": 1},
                 {"product_id": products[(n + 1) % len(products)], "quantity": 1}]}).encode())
            for n in range(count)]


async def drive(app: Asgi, calls: list[Call],
                connections: int) -> tuple[dict[int, int], list[float]]:
    """The `calls`, `connections` at a time; their statuses and latencies (s)."""
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    queue = iter(calls)

    async def client() -> None:
        for path, headers, body in queue:
            started = time.perf_counter()
            status = await call(app, "POST", path, headers, body)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(client() for _ in range(connections)))
    return statuses, latencies


async def measure(variant: str, url: str, requests: int, connections: int,
                  warmup: int = WARMUP, saga: str = "product") -> Result:
    """One variant against a migrated database at `url`: warm up, then the measured commands
    (`saga` "product": creates; "order": two-line orders against seeded products). With the
    relay on, the warm-up's events are all delivered before the count starts, and the
    measured commands' before it ends: their deliveries, sagas included, are counted."""
    from shared.auth.tokens import generate_secret_paserk

    key = generate_secret_paserk()
    if saga == "order":
        seeded = await _seeded(url, key)
    app, path, auth = _app(variant, url, key)

    def commands(count: int, prefix: str) -> list[Call]:
        if saga != "order":
            return creates(path, auth, count, prefix)
        made = orders(seeded, count, prefix)
        if variant == "floor":  # the same bodies, to the floor's route, which has no auth
            return [("/bare-order", {k: v for k, v in headers.items() if k != "authorization"},
                     body) for _, headers, body in made]
        return made

    relay = variant.endswith("relay on")
    async with app.lifespan(), await _connect(url) as conn:
        tag = uuid7().hex[-10:].upper()
        await drive(app, commands(warmup, f"W{tag}"), connections)
        if relay:
            await _delivered(conn)
        calls = commands(requests, f"M{tag}")
        cpu = time.process_time()
        statuses, latencies = await drive(app, calls, connections)
        if relay:
            await _delivered(conn)
        cpu = time.process_time() - cpu
    latencies.sort()
    return Result(variant, connections, statuses, cpu / requests * 1000,
                  latencies[len(latencies) // 2] * 1000,
                  latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000)


@dataclass(frozen=True)
class Drained:
    events: int
    cpu_ms: float  # this process's CPU per event while its relay drained them
    seconds: float


# What `drain` leaves in the outbox for the relay, and what one of them costs it.
SAGAS = {"product": "ProductCreated (two deliveries)",
         "order": "order, its saga to confirmed and notified (six deliveries)"}
ORDER_SEED = {"products": 200, "users": 20}


async def drain(url: str, events: int, connections: int = 16, saga: str = "product") -> Drained:
    """`events` commands with the relay off, then the relay's CPU until it has delivered all
    they published and all their handlers published in turn: `saga` "product" is creates,
    "order" is two-line orders placed against seeded products with stock (seeded with the
    relay on, so that inventory and ordering learn them first)."""
    from shared.auth.tokens import generate_secret_paserk

    key, tag = generate_secret_paserk(), f"D{uuid7().hex[-10:].upper()}"
    if saga == "order":
        seeded = await _seeded(url, key)
        app, _, _ = _app("rampart, relay off", url, key)
        calls = orders(seeded, events, tag)
    else:
        app, path, auth = _app("rampart, relay off", url, key)
        calls = creates(path, auth, events, tag)
    async with app.lifespan():
        statuses, _ = await drive(app, calls, connections)
    if statuses != {201: events}:
        raise RuntimeError(f"the commands answered {statuses}")
    app, _, _ = _app("rampart, relay on", url, key)
    async with await _connect(url) as conn, app.lifespan():
        cpu, started = time.process_time(), time.perf_counter()
        await _delivered(conn)
        cpu, took = time.process_time() - cpu, time.perf_counter() - started
    return Drained(events, cpu / events * 1000, took)


async def _seeded(url: str, key: str) -> Seed:
    """Products with stock and customers to order them (ORDER_SEED), through the app with its
    relay on, so that inventory and ordering have learnt them before the first order."""
    from bench.seed import seed

    app, _, _ = _app("rampart, relay on", url, key)
    async with app.lifespan():
        # orders=0: the seed places none over HTTP, so its server address is never used.
        seeded, notes = await seed(url, "http://127.0.0.1:9", key, orders=0, **ORDER_SEED)
    if notes:
        raise RuntimeError(f"the seed: {notes}")
    return seeded


async def _connect(url: str) -> Any:
    import psycopg

    return await psycopg.AsyncConnection.connect(url, autocommit=True)


async def _delivered(conn: Any) -> None:
    """Until no delivery is pending; polled, as the relay announces nothing when it is done."""
    while True:
        cur = await conn.execute("SELECT count(*) FROM kernel.outbox_deliveries"
                                 " WHERE state = 'pending'")
        if not (await cur.fetchone() or (0,))[0]:
            return
        await asyncio.sleep(0.02)


def _app(variant: str, url: str, key: str | None = None) -> tuple[Any, str, dict[str, str]]:
    if variant == "floor":
        os.environ["BENCH_DATABASE_URL"] = url
        from bench import bare

        return bare.app, "/bare-create", {}
    from shared.app import create_app
    from shared.auth.principal import Principal
    from shared.auth.tokens import generate_secret_paserk
    from shared.settings import load_settings

    relay = variant.endswith("relay on")
    settings = load_settings({
        "TOKEN_SIGNING_KEY": key or generate_secret_paserk(), "RATE_LIMIT_ADMIN": "1000000/minute",
        "RELAY_ENABLED": str(relay).lower(),
        # Without a relay nothing drains the outbox, and pacing would slow every create.
        "OUTBOX_PACING_LAG_MS": "250" if relay else "0", "LOG_LEVEL": "WARNING"})
    app = create_app(settings, database_url=url)
    admin = Principal(user_id=uuid7(), role="admin")  # type: ignore[arg-type]
    return app, "/v1/products", {"Authorization": f"Bearer {app.state.tokens.issue(admin)}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--drain", type=int, metavar="N",
                        help="instead: the relay's CPU per command, draining N commands' events")
    parser.add_argument("--saga", choices=sorted(SAGAS), default="product",
                        help="which command: product creates (the default) or two-line orders,"
                             " measured, or with --drain drained")
    opts = parser.parse_args()
    from bench.run import scratch_database

    try:
        import uvloop  # as granian's workers run
        run: Callable[[Any], Any] = uvloop.run
    except ImportError:
        run = asyncio.run

    if opts.drain:
        rounds = []
        for _ in range(opts.rounds):
            with scratch_database() as (url, _label):
                rounds.append(run(drain(url, opts.drain, saga=opts.saga)))
            print(f"drained {opts.drain} {opts.saga}s' events in {rounds[-1].seconds:.2f} s: "
                  f"{rounds[-1].cpu_ms:.3f} ms of the relay's CPU per {opts.saga}", flush=True)
        print(f"relay CPU per {SAGAS[opts.saga]}, median of {opts.rounds}: "
              f"{statistics.median(r.cpu_ms for r in rounds):.3f} ms")
        return

    results: list[Result] = []
    noun = "create" if opts.saga == "product" else opts.saga
    for connections in opts.connections:
        for _ in range(opts.rounds):
            for variant in VARIANTS:
                with scratch_database() as (url, _label):
                    result = run(measure(variant, url, opts.requests, connections,
                                         saga=opts.saga))
                results.append(result)
                print(f"{variant} at {connections}: {result.cpu_ms:.2f} ms CPU per {noun}, "
                      f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
                      f"answers {result.statuses}", flush=True)
    print(f"\n| variant | at once | CPU ms per {noun} (rounds) | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for connections in opts.connections:
        for variant in VARIANTS:
            mine = [r for r in results if r.variant == variant and r.connections == connections]
            print(f"| {variant} | {connections} | "
                  f"{statistics.median(r.cpu_ms for r in mine):.2f} "
                  f"({', '.join(f'{r.cpu_ms:.2f}' for r in mine)}) | "
                  f"{statistics.median(r.p50_ms for r in mine):.2f} | "
                  f"{statistics.median(r.p99_ms for r in mine):.2f} |")


if __name__ == "__main__":
    main()
