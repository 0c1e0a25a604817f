"""The bench's pieces that need no load: its report builds from a result file (ratios, targets,
plots) and its pgbench mirrors render from the code's own SQL. Nothing here is timed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import pgbench, report
from bench.scenarios import SCENARIOS

BENCH = Path(report.__file__).parent


def _run(scenario: str, connections: int, rps: float, p50: float, p99: float, *,
         kind: str = "wrk", errors: int = 0, **extra: object) -> dict[str, object]:
    return {"scenario": scenario, "kind": kind, "connections": connections, "rps": rps,
            "p50": p50, "p90": (p50 + p99) / 2, "p99": p99, "errors": errors, "requests": 100,
            "percentiles_ms": {"50": p50, "90": (p50 + p99) / 2, "99": p99},
            "cpu_wrk": 0.2, "cpu_machine": 2.0, "cores": 2, "backlog_max": 3,
            "backlog_end": 0, "backlog": [[0.0, 0], [0.5, 3], [1.0, 0]],
            "pg_connections_max": 20, "pg_active_max": 4, "pg_server_max": 37,
            "rss_mb_max": [80.0, 81.0], "title": scenario,
            **({"servers_running": False, "pg_free_before": 90} if kind == "pgbench" else {}),
            **extra}


FAKE = {
    "meta": {"date": "2026-12-02T21:00:00+00:00", "quick": True, "database": "PostgreSQL 15",
             "machine": {"host": "box", "cpu": "a CPU", "cores": 2, "memory_gb": 24,
                         "kernel": "6", "python": "3.11"},
             "settings": {"seconds": 2, "warmup": 1, "products": 10, "users": 2, "orders": 0,
                          "workers": 2},
             "connections": [1, 32], "load_before": 1.0, "load_after": 1.5,
             "pg_connections": {"max": 100, "reserved": 3, "in_use": 7, "ours": 1, "free": 90},
             "versions": {"litestar": "2.25"}, "rss_mb_start": [70.0], "rss_mb_end": [80.0]},
    "verify_rate": {"1": 30.0, "2": 55.0},
    "hash_rate": {"1": 25.0, "2": 40.0},
    "argon2_rounds": [{"verify": {"1": 28.0, "2": 50.0}, "hash": {"1": 24.0, "2": 38.0}},
                      {"verify": {"1": 32.0, "2": 60.0}, "hash": {"1": 26.0, "2": 42.0}}],
    "runs": [
        _run("bare", 1, 2000, 0.5, 1.0), _run("bare", 32, 10_000, 3.0, 6.0),
        _run("get_product", 1, 1000, 1.0, 2.0),
        _run("get_product", 32, 5000, 6.0, 30.0, cache_hit_ratio=0.974),
        _run("get_product", 1, 5000, 0.2, 0.4, kind="pgbench", script="get_product.pgbench.sql"),
        _run("create_product", 1, 100, 10.0, 15.0),
        _run("create_product", 1, 500, 2.0, 3.0, kind="pgbench",
             script="create_product.pgbench.sql"),
        _run("create_product", 32, 300, 90.0, 200.0, errors=2, cpu_servers=1.2),
        _run("bare_create", 32, 400, 60.0, 120.0),
        _run("create_product", 32, 1000, 30.0, 60.0, kind="pgbench",
             script="create_product.pgbench.sql"),
        _run("register_user", 32, 30.0, 900.0, 1100.0),
        _run("register_user", 32, 1500, 20.0, 40.0, kind="pgbench",
             script="register_user.pgbench.sql"),
        _run("login", 32, 44.0, 700.0, 900.0),
    ],
    "bare_end": [_run("bare", 32, 15_000, 2.0, 5.0)],
    "skipped": [{"scenario": "place_order", "title": "POST /v1/orders",
                 "reason": "`POST /v1/orders` answered 404: not built yet on this branch"}],
    "events": [{"scenario": "create_product", "event": "ProductCreated", "deliveries": 50,
                "pending_after_60s": 0, "claimed_p50": 4.0, "claimed_p99": 9.0,
                "done_p50": 5.0, "done_p99": 11.0}],
    "notes": ["no orders seeded: POST /v1/orders is not built on this branch"],
}


def test_report_builds_from_a_result_file(tmp_path: Path) -> None:
    source = tmp_path / "2026-12-02-box-quick.json"
    source.write_text(json.dumps(FAKE))

    markdown = report.build(source)

    text = markdown.read_text()
    assert markdown.name == "2026-12-02-box-quick.md"
    assert "**Quick run**" in text
    # Ratios are to the ceiling measured at the same connection count in the same run; the
    # bare route's is the mean of its first and last measurement (10,000 and 15,000 here).
    assert "| GET /v1/products/{id} | 32 | 5,000 | 6.00 | 18.00 | 30.00 | 5.0x | 0 | bare route " \
        "| 40% |" in text
    assert "| (bare route again, at the end) | 32 | 15,000 |" in text and "drift +50%" in text
    assert "| GET /v1/products/{id} | 1 | 1,000 |" in text and "| bare route | 50% |" in text
    assert "| POST /v1/products | 32 | 300 |" in text and "create_product.pgbench.sql | 30% |" \
        in text
    assert "argon2 verify x2 | 80% |" in text  # login against all cores verifying at once
    # A registration against all cores hashing at once, its SQL's raw rate beside it.
    assert "| POST /v1/users | 32 | 30 | 900.00 |" in text and "argon2 hash x2 | 75% |" in text
    assert "| ↳ raw PostgreSQL `register_user.pgbench.sql` | 32 | 1,500 tx/s |" in text
    assert "POST /v1/users at 32 connections: 30.0 req/s, 75% of argon2 hash x2 (40.0/s); its " \
        "SQL alone (`register_user.pgbench.sql`, a fixed hash) runs at 1,500 tx/s, 2.0% of " \
        "which it reaches." in text
    assert "pwdlib argon2id hashes/s here (the project's parameters): 25.0 with 1 at once, " \
        "40.0 with 2 at once (the mean of 2 rounds, after seeding and after the raw ceilings: " \
        "24.0, 38.0; 26.0, 42.0)." in text
    # The raw ceilings ran with the servers stopped, and the connection budget is reported.
    assert "with both servers stopped" in text
    assert "max_connections 100 (3 reserved), 7 in use before the run" in text
    assert "| ↳ raw `create_product.pgbench.sql` | 32 | 3 | 0 | 20 | 4 | 37 |" in text
    # Targets: single-product read 40% >= 40% met; its p99 is 5x its p50: missed.
    assert "| GET /v1/products/{id} >= 40% of its ceiling at 32 (bare route) | 40% | **met** |" \
        in text
    assert "| GET /v1/products/{id} at 32: p99 <= 4x p50, 0 errors | 5.0x, 0 errors | " \
        "**missed** |" in text
    assert "| POST /v1/products at 32: p99 <= 4x p50, 0 errors | 2.2x, 2 errors | **missed** |" \
        in text
    assert ("| POST /v1/orders (two lines) >= 40% of its ceiling at 32 | - "
            "| not measured (skipped) |") in text
    assert "- POST /v1/orders: `POST /v1/orders` answered 404" in text
    # One request at a time, next to the bare route's p50 and one raw query's: 1.0 ms is 0.3
    # over both; a write also next to its own mirror (10 ms against 2 ms raw).
    assert "| GET /v1/products/{id} | 1.00 | 0.50 | 0.20 | +0.30 | 0.20 | +0.80 |" in text
    assert "| POST /v1/products | 10.00 | 0.50 | 0.20 | +9.30 | 2.00 | +8.00 |" in text
    assert "| POST /v1/products | ProductCreated | 50 | 4.00 | 9.00 | 5.00 | 11.00 | 0 |" in text
    assert "(cache hits over hits and misses, every worker): GET /v1/products/{id} 97% at 32." \
        in text
    # A write floor shares its command's raw ceiling, and the command stands beside it.
    assert "| bare Litestar + a creation's statements | 32 | 400 |" in text \
        and "create_product.pgbench.sql | 40% |" in text
    assert "| POST /v1/products | 1,000 | 400 (40%) | 300 (30%) | 75% |" in text
    # CPU per request: 1.2 cores of servers at 300 req/s is 4 ms; the machine's 2.0 cores less
    # theirs and wrk's 0.2 leave PostgreSQL 2 ms. At 40% of raw 1,000 tx/s, 2 cores allow 5 ms
    # per request: 3 once PostgreSQL has its 2, which the servers' 4 overrun 1.3 times. The
    # floor's run carries no server CPU (an older result file): it has no row.
    assert "| POST /v1/products | 2.00 | 4.00 | 2.00 | 6.00 | 5.00 (40%) | 3.00 | 1.3x |" in text
    assert "| bare Litestar + a creation's statements | 2.00 |" not in text
    for plot in ("latency", "throughput", "backlog"):
        image = tmp_path / f"2026-12-02-box-quick-{plot}.png"
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"({image.name})" in text


@pytest.mark.parametrize("name", sorted({s.raw for s in SCENARIOS if s.raw}))
def test_every_pgbench_mirror_renders_from_the_code_it_mirrors(name: str) -> None:
    source = BENCH / "pgbench" / f"{name}.pgbench.sql"

    rendered = pgbench.render(source)

    assert source.read_text().startswith("-- Mirrors ")
    assert "\n@" not in rendered  # every directive became the statement it names
    assert "%(" not in rendered and "%s" not in rendered  # psycopg's placeholders: pgbench's
    # Every transaction it opens, it commits (what follows a COMMIT runs in autocommit, as the
    # kernel's NOTIFYs after a commit do).
    lines = [line.strip() for line in rendered.splitlines()]
    opened = [i for i, line in enumerate(lines) if line == "BEGIN;"]
    committed = [i for i, line in enumerate(lines) if line == "COMMIT;"]
    assert len(opened) == len(committed)
    assert all(b < c for b, c in zip(opened, committed, strict=True))


def test_a_second_run_of_the_day_never_overwrites_the_first(tmp_path: Path,
                                                           monkeypatch) -> None:
    from bench import run

    monkeypatch.setattr(run, "RESULTS", tmp_path / "results")
    first = run.results_path("2026-12-06-vm")
    first.write_text("{}")
    second = run.results_path("2026-12-06-vm")
    second.write_text("{}")

    assert (first.name, second.name) == ("2026-12-06-vm.json", "2026-12-06-vm-2.json")
    assert run.results_path("2026-12-06-vm").name == "2026-12-06-vm-3.json"


def test_a_mirror_naming_a_statement_that_is_gone_fails_loudly(tmp_path: Path) -> None:
    script = tmp_path / "gone.pgbench.sql"
    script.write_text("-- Mirrors nothing\n@shared.http.idempotency:_NO_SUCH_STATEMENT\n")

    with pytest.raises(RuntimeError, match=r"gone.pgbench.sql:2"):
        pgbench.render(script)


def test_positional_placeholders_take_the_names_given_in_order() -> None:
    rendered = pgbench.statement("shared.http.idempotency", "_FIND", ["caller", "idem_key"])

    assert "caller = :caller AND key = :idem_key" in rendered
    with pytest.raises(ValueError, match="more %s than names"):
        pgbench.statement("shared.http.idempotency", "_FIND", ["caller"])


def test_a_null_rename_puts_sql_null_where_a_variable_cannot_hold_one() -> None:
    rendered = pgbench.statement("features.catalog.update_product.sql", "UPDATE_PRODUCT",
                                 ["name=NULL", "description=NULL", "category=NULL"])

    assert "name = coalesce(NULL, name)" in rendered
    assert "THEN NULL ELSE description END" in rendered
    assert "price_cents = coalesce(:price_cents, price_cents)" in rendered
    assert "version = ANY(:versions::integer[])" in rendered


async def test_the_write_floors_send_the_commands_statements(database_url: str,
                                                              monkeypatch) -> None:
    """bench/bare.py's floors write what Rampart's commands write, with the kernel's
    bookkeeping: the product, its idempotency record, its event and one delivery per real
    subscriber, to nobody's (bench.raw.*); the order at ordering's price; the adjustment; the
    update, given the version it moves on from (412 with the current one otherwise)."""
    import psycopg
    from litestar.testing import AsyncTestClient

    from bench import bare
    from shared.db.events import subscribers_of

    monkeypatch.setenv("BENCH_DATABASE_URL", database_url)
    async with AsyncTestClient(bare.app) as client:
        created = await client.post("/bare-create", headers={"Idempotency-Key": "k1"}, json={
            "sku": "FLOOR-1", "name": "Floor", "price_cents": 100, "currency": "EUR",
            "category": "bench"})
        assert created.status_code == 201, created.text
        product_id = created.json()["id"]
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("INSERT INTO inventory.stock_levels (product_id) VALUES (%s)",
                         (product_id,))
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("INSERT INTO ordering.product_prices VALUES (%s, 450, 'EUR', 1, now())",
                         (product_id,))
        ordered = await client.post("/bare-order", headers={"Idempotency-Key": "k3"},
                                    json={"items": [{"product_id": product_id, "quantity": 2}]})
        assert ordered.status_code == 201, ordered.text
        assert ordered.json()["total_cents"] == 900
        adjusted = await client.post(f"/bare-adjust/{product_id}",
                                      headers={"Idempotency-Key": "k2"},
                                      json={"delta": 5, "reason": "bench"})
        assert adjusted.status_code == 201, adjusted.text
        assert adjusted.json()["on_hand"] == 5
        updated = await client.patch(f"/bare-update/{product_id}", headers={"If-Match": '"1"'},
                                     json={"price_cents": 2345})
        assert updated.status_code == 200, updated.text
        assert (updated.json()["price_cents"], updated.json()["version"]) == (2345, 2)
        assert updated.headers["etag"] == '"2"'
        stale = await client.patch(f"/bare-update/{product_id}", headers={"If-Match": '"1"'},
                                   json={"price_cents": 1})
        assert (stale.status_code, stale.headers["etag"]) == (412, '"2"')
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT sku, price_cents, version FROM catalog.products"
                            ).fetchall() == [("FLOOR-1", 2345, 2)]
        assert conn.execute("SELECT key, status FROM kernel.idempotency_keys ORDER BY key"
                            ).fetchall() == [("k1", 201), ("k2", 201), ("k3", 201)]
        assert conn.execute("SELECT total_cents FROM ordering.orders").fetchall() == [(900,)]
        deliveries = {event: conn.execute(
            "SELECT d.subscriber FROM kernel.outbox_deliveries d JOIN kernel.outbox_events e"
            " ON e.id = d.event_id WHERE e.type = %s AND e.aggregate_id = %s"
            " ORDER BY 1", (event, product_id)).fetchall()
            for event in ("ProductCreated", "ProductUpdated")}
    for event, subscribers in deliveries.items():  # one update published, the stale one not
        assert [d for (d,) in subscribers] == [f"bench.raw.{i}" for i in range(
            len(subscribers_of(event)))]


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s.raw], ids=lambda s: s.raw)
def test_every_pgbench_mirror_runs_its_statements_on_the_real_schema(scenario,
                                                                     database_url: str,
                                                                     tmp_path: Path) -> None:
    """Each mirror, rendered, runs under pgbench (its pipelines included) against the real
    migrations with the variables the runner gives it, and writes what its command writes:
    one event per transaction, where the command publishes one, to nobody's subscribers."""
    import subprocess

    import psycopg
    from uuid_utils.compat import uuid7

    from bench.run import _pgbench_binary
    from bench.scenarios import Seed

    products = [str(uuid7()) for _ in range(3)]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(pgbench.FUNCTIONS)
        for i, product_id in enumerate(products, 1):
            conn.execute("INSERT INTO catalog.products (id, sku, name, price_cents, currency,"
                         " category, version, created_at, updated_at) VALUES (%s, %s, 'P', 100,"
                         " 'EUR', 'c', 1, now(), now())", (product_id, f"SEED-{i}"))
            conn.execute("INSERT INTO ordering.product_prices VALUES (%s, 100, 'EUR', 1, now())",
                         (product_id,))
            conn.execute("INSERT INTO inventory.stock_levels (product_id, on_hand) VALUES"
                         " (%s, 1000)", (product_id,))
        conn.execute("INSERT INTO payments.orders (order_id, user_id, status, total_cents,"
                     " currency, updated_at) SELECT bench_order_id(k), bench_uuid7(),"
                     " 'confirmed', 1234, 'EUR', now() FROM generate_series(1, 10000) AS k")
    user = (str(uuid7()), "u@example.com", "token")
    seed = Seed(product_ids=products, users=[user], admin_id=str(uuid7()), admin_token="t",
                password="p", password_hash="$argon2id$fixed",
                subscribers={e: ["a", "b"] for e in ("ProductCreated", "ProductUpdated",
                                                     "OrderPlaced", "UserRegistered",
                                                     "PaymentSucceeded")})
    script = tmp_path / f"{scenario.raw}.sql"
    script.write_text(pgbench.render(BENCH / "pgbench" / f"{scenario.raw}.pgbench.sql"))
    variables = {"clients": "2", **(scenario.raw_vars(seed) if scenario.raw_vars else {})}
    done = subprocess.run([_pgbench_binary(), "-n", "-M", "prepared", "-c2", "-j1", "-t5",
                           "-f", str(script), *[f"-D{k}={v}" for k, v in variables.items()],
                           database_url], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr[-1000:]
    assert "number of failed transactions: 0" in done.stdout, done.stdout
    with psycopg.connect(database_url, autocommit=True) as conn:
        events = conn.execute("SELECT count(*) FROM kernel.outbox_events").fetchone()[0]
        deliveries = conn.execute("SELECT count(*) FROM kernel.outbox_deliveries WHERE"
                                  " subscriber LIKE 'bench.raw.%'").fetchone()[0]
    publishes = scenario.raw not in ("adjust_stock", "get_product")
    assert (events, deliveries) == ((10, 20) if publishes else (0, 0))


@pytest.mark.parametrize("variant", ["floor", "rampart, relay off", "rampart, relay on"])
async def test_the_in_process_bench_creates_what_it_counts(variant: str, database_url: str,
                                                           monkeypatch) -> None:
    """bench/inprocess.py drives real creates through each variant's ASGI app: every one
    answers 201 and lands in catalog.products, and it reports CPU and latency for them."""
    import psycopg

    from bench.inprocess import measure

    monkeypatch.setenv("BENCH_DATABASE_URL", database_url)  # restored after the floor sets it
    result = await measure(variant, database_url, requests=30, connections=4, warmup=10)
    assert result.statuses == {201: 30}
    assert result.cpu_ms > 0
    assert 0 < result.p50_ms <= result.p99_ms
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT sku) FROM catalog.products"
                           ).fetchone()
    assert row == (40, 40)


@pytest.mark.parametrize("variant", ["floor", "rampart, relay off", "rampart, relay on"])
async def test_the_in_process_order_bench_places_what_it_counts(variant: str, database_url: str,
                                                                monkeypatch) -> None:
    """`bench.inprocess --saga order`: each variant places real two-line orders (the floor at
    its own route) and answers 201 to every one; with the relay on, the figure is taken only
    once every order's saga has run to its end."""
    import psycopg

    from bench.inprocess import measure

    monkeypatch.setenv("BENCH_DATABASE_URL", database_url)  # restored after the floor sets it
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(pgbench.FUNCTIONS)  # the seed's payment mirror uses bench_order_id()
    result = await measure(variant, database_url, requests=12, connections=3, warmup=6,
                           saga="order")
    assert result.statuses == {201: 12}
    assert 0 < result.p50_ms <= result.p99_ms and result.cpu_ms > 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM ordering.orders"
                                     " GROUP BY status").fetchall())
        pending = conn.execute("SELECT count(*) FROM kernel.outbox_deliveries"
                               " WHERE state = 'pending'").fetchone()
    if variant == "rampart, relay on":
        assert statuses == {"confirmed": 18} and pending == (0,)
    else:  # placed, and left pending: nothing delivers their events
        assert statuses == {"pending": 18} and pending[0] > 0


async def test_the_drain_bench_counts_the_relay_delivering_every_event(database_url: str) -> None:
    """`bench.inprocess --drain`: the creates leave their events pending, and the figure is
    taken once the relay has delivered every one of them (each product has its stock row)."""
    import psycopg

    from bench.inprocess import drain

    result = await drain(database_url, events=25, connections=4)
    assert result.events == 25
    assert result.cpu_ms > 0 and result.seconds > 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        states = conn.execute("SELECT state, count(*) FROM kernel.outbox_deliveries"
                              " GROUP BY state").fetchall()
        stocked = conn.execute("SELECT count(*) FROM inventory.stock_levels").fetchone()
    assert states == [("done", 50)]
    assert stocked == (25,)


async def test_the_order_drain_counts_until_every_order_is_confirmed_and_notified(
        database_url: str) -> None:
    """`bench.inprocess --drain N --saga order`: the orders are placed with the relay off, and
    the figure is taken only once each one's saga has run to its end: reserved, confirmed, and
    every delivery of every event on the way done."""
    import psycopg

    from bench.inprocess import drain

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(pgbench.FUNCTIONS)  # the seed's payment mirror uses bench_order_id()
    result = await drain(database_url, events=12, connections=4, saga="order")
    assert result.events == 12
    assert result.cpu_ms > 0 and result.seconds > 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        pending = conn.execute("SELECT count(*) FROM kernel.outbox_deliveries"
                               " WHERE state <> 'done'").fetchone()
        statuses = conn.execute("SELECT status, count(*) FROM ordering.orders"
                                " GROUP BY status").fetchall()
        reserved = conn.execute("SELECT count(*) FROM inventory.reservations").fetchone()
        confirmed = conn.execute("SELECT count(*) FROM kernel.outbox_events"
                                 " WHERE type = 'OrderConfirmed'").fetchone()
    assert pending == (0,)
    assert statuses == [("confirmed", 12)]
    assert reserved == (12,) and confirmed == (12,)


def _http_server(port: int) -> list[str]:
    import sys

    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]


def test_a_sidecar_counts_as_one_of_the_servers_processes_and_stops_with_it() -> None:
    """`--relay-apart`: the relay's own process is charged to the server it serves with (its
    CPU in the server's, its RSS among the workers'), and stops with it."""
    import sys
    import time

    from bench.run import Server, cpu_seconds
    from tests.helpers import free_port

    port = free_port()
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n" \
           "time.sleep(120)"
    server = Server("s", _http_server(port), {}, port, "/",
                    sidecar=[sys.executable, "-c", burn])
    try:
        assert server.sidecar is not None and server.sidecar.pid in server.workers
        deadline = time.monotonic() + 20
        while cpu_seconds(server.sidecar.pid) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.cpu() >= cpu_seconds(server.sidecar.pid) >= 0.3
    finally:
        server.stop()
    assert server.process.poll() is not None and server.sidecar.poll() is not None


def test_a_sidecar_that_dies_at_start_stops_the_bench_with_its_error() -> None:
    import sys

    from bench.run import Server
    from tests.helpers import free_port

    port = free_port()
    with pytest.raises(RuntimeError, match=r"sidecar exited \(1\): .*no relay here"):
        Server("s", _http_server(port), {}, port, "/.nothing-is-served-here",
               sidecar=[sys.executable, "-c", "raise SystemExit('no relay here')"])
