"""What the bench measures: one registry entry per scenario.

Adding a scenario is one entry here: a name, what wrk sends (a list of requests it goes
round, built from the seeded data), the ceiling it is compared with, and the issue's target if
it has one. A write scenario names its raw-PostgreSQL counterpart, bench/pgbench/<raw>.pgbench.sql
(the same statements as the slice and the kernel run, under pgbench), and the runner uses
exactly the scripts named here. A scenario whose endpoint answers 404 or 405 (not built yet)
is skipped, and the report says so. A scenario whose requests use rows up (a payment pays its
order once) names `fresh`: the runner calls it before every run, warm-ups included, for new
rows, and builds the run's requests from the seed it returns. A scenario that updates a
versioned resource (`versioned=True`) writes `{version}` in its If-Match: the runner puts each
resource's current version there before every run, and wrk follows the ETag of each answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from shared.db.events import AGGREGATE_LOCK_SPACE


class Request(NamedTuple):
    method: str
    path: str
    headers: dict[str, str] = {}
    body: str | None = None  # "{n}" in path or body: replaced by a string unique per request


@dataclass(frozen=True)
class Seed:
    """What seeding made; scenarios build their requests from it."""

    product_ids: list[str]
    users: list[tuple[str, str, str]]  # (id, email, access token)
    admin_id: str
    admin_token: str
    password: str
    password_hash: str = ""  # the seeded users' stored argon2 hash of `password`
    orders: int = 0
    payable: list[tuple[str, str]] = field(default_factory=list)  # (confirmed order, owner token)
    subscribers: dict[str, list[str]] = field(default_factory=dict)  # event type -> names


# bare: the bare route; raw: its pgbench mirror; argon2: pwdlib's verify rate (a login);
# argon2-hash: pwdlib's hash rate (a registration: its SQL's raw rate is shown beside it).
Ceiling = Literal["bare", "raw", "argon2", "argon2-hash"]
RAW_SUBSCRIBER = "bench.raw."


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    requests: Callable[[Seed], list[Request]]
    ceiling: Ceiling | None = "bare"  # None: this is a ceiling itself
    server: Literal["rampart", "bare"] = "rampart"
    idempotent: bool = False  # a fresh Idempotency-Key with every request
    versioned: bool = False  # "{version}" in If-Match: the path's resource's current version
    raw: str | None = None  # bench/pgbench/<raw>.pgbench.sql: the same statements, raw
    raw_vars: Callable[[Seed], dict[str, str]] | None = None  # its pgbench -D variables
    raw_of: str | None = None  # the scenario whose raw ceiling this one shares (not rerun)
    floor: str | None = None  # the bare scenario sending this command's statements alone
    fresh: Callable[[str, Seed], Seed] | None = None  # new rows for a run: (database url, seed)
    target: float | None = None  # the least ratio to the ceiling, at 32 connections
    event: str | None = None  # the event whose publish-to-handler latency is measured
    min_seconds: float = 0  # runs at least this long, even in a quick run
    note: str = ""


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _publishing(seed: Seed, event: str) -> dict[str, str]:
    """What a mirror's events need besides its own values (bench_events() in bench/pgbench.py
    makes them): as many deliveries as the event really has, to subscribers no build has, so
    the relays leave them alone and raw runs cost the servers nothing; the runner deletes
    them after each run."""
    return {"subscriber_count": str(len(seed.subscribers.get(event, []))),
            "space": str(AGGREGATE_LOCK_SPACE),
            "traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-00"}


def _admin_vars(seed: Seed) -> dict[str, str]:
    return {"caller": f"user:{seed.admin_id}", "products": str(len(seed.product_ids)),
            **_publishing(seed, "ProductCreated")}


def _update_vars(seed: Seed) -> dict[str, str]:
    return {"products": str(len(seed.product_ids)), **_publishing(seed, "ProductUpdated")}


def _register_vars(seed: Seed) -> dict[str, str]:
    return {"password_hash": seed.password_hash, **_publishing(seed, "UserRegistered")}


def _order_vars(seed: Seed) -> dict[str, str]:
    user_id = seed.users[0][0]
    return {"caller": f"user:{user_id}", "user_id": user_id,
            "products": str(len(seed.product_ids)), **_publishing(seed, "OrderPlaced")}


def _new_product(seed: Seed) -> list[Request]:
    body = json.dumps({"sku": "B-{n}", "name": "Bench product", "price_cents": 1234,
                       "currency": "EUR", "category": "bench"})
    return [Request("POST", "/v1/products", _bearer(seed.admin_token), body)]


def _bare_new_product(seed: Seed) -> list[Request]:
    return [r._replace(path="/bare-create", headers={}) for r in _new_product(seed)]


def _bare_orders(seed: Seed) -> list[Request]:
    return [r._replace(path="/bare-order", headers={}) for r in _orders(seed)]


def _bare_adjustments(seed: Seed) -> list[Request]:
    return [r._replace(path=r.path.replace("/v1/inventory/", "/bare-adjust/").removesuffix(
        "/adjustments"), headers={}) for r in _adjustments(seed)]


def _updates(seed: Seed) -> list[Request]:
    body = json.dumps({"price_cents": 2345})
    return [Request("PATCH", f"/v1/products/{p}", {**_bearer(seed.admin_token),
                                                  "If-Match": '"{version}"'}, body)
            for p in seed.product_ids]


def _bare_updates(seed: Seed) -> list[Request]:
    return [r._replace(path=r.path.replace("/v1/products/", "/bare-update/"),
                       headers={"If-Match": r.headers["If-Match"]}) for r in _updates(seed)]


def _registrations(seed: Seed) -> list[Request]:
    return [Request("POST", "/v1/users", {}, json.dumps(
        {"email": "new-{n}@example.com", "password": seed.password, "name": "Bench"}))]


def _adjustments(seed: Seed) -> list[Request]:
    body = json.dumps({"delta": 1, "reason": "bench"})
    return [Request("POST", f"/v1/inventory/{p}/adjustments", _bearer(seed.admin_token), body)
            for p in seed.product_ids]


def _orders(seed: Seed) -> list[Request]:
    # Two lines, as the issue asks: user i orders products i and i+1 (mod), users in turn.
    count, products = max(len(seed.product_ids), len(seed.users)), seed.product_ids
    return [Request("POST", "/v1/orders", _bearer(seed.users[i % len(seed.users)][2]),
                    json.dumps({"items": [
                        {"product_id": products[i % len(products)], "quantity": 1},
                        {"product_id": products[(i + 1) % len(products)], "quantity": 1}]}))
            for i in range(count)]


def _payments(seed: Seed) -> list[Request]:
    body = json.dumps({"payment_method": "pm_card_visa"})
    return [Request("POST", f"/v1/orders/{order_id}/payments", _bearer(token), body)
            for order_id, token in seed.payable]


def _payable(url: str, seed: Seed) -> Seed:
    from bench.seed import payable_orders  # bench.seed builds on this module

    return payable_orders(url, seed)


def _pay_vars(seed: Seed) -> dict[str, str]:
    from bench.seed import MIRROR_ORDERS

    return {"caller": f"user:{seed.users[0][0]}", "orders": str(MIRROR_ORDERS),
            **_publishing(seed, "PaymentSucceeded")}


def _logins(seed: Seed) -> list[Request]:
    return [Request("POST", "/v1/auth/token", {}, json.dumps(
        {"email": email, "password": seed.password})) for _, email, _ in seed.users]


SCENARIOS: list[Scenario] = [
    Scenario("bare", "bare Litestar GET /bare", lambda s: [Request("GET", "/bare")],
             ceiling=None, server="bare", note="sync handler, no middleware: the ceiling"),
    Scenario("bare_db", "bare Litestar + one psycopg query",
             lambda s: [Request("GET", f"/bare-db/{p}") for p in s.product_ids[:100]],
             server="bare", note="the floor under any database-backed read"),
    Scenario("health", "GET /health/live", lambda s: [Request("GET", "/health/live")]),
    Scenario("get_product", "GET /v1/products/{id}",
             lambda s: [Request("GET", f"/v1/products/{p}") for p in s.product_ids],
             target=0.40, raw="get_product",
             raw_vars=lambda s: {"ids": "{" + s.product_ids[0] + "}"}),
    Scenario("list_products", "GET /v1/products?limit=20",
             lambda s: [Request("GET", "/v1/products?limit=20")], target=0.20),
    Scenario("get_me", "GET /v1/users/me",
             lambda s: [Request("GET", "/v1/users/me", _bearer(t)) for _, _, t in s.users],
             target=0.30),
    # The write floors (bench/bare.py): a command's statements in Rampart's round trips, from
    # a bare Litestar route, without the kernel or the relay; their ceiling is the command's.
    Scenario("bare_create", "bare Litestar + a creation's statements", _bare_new_product,
             ceiling="raw", server="bare", idempotent=True, raw_of="create_product",
             note="the floor under POST /v1/products"),
    Scenario("bare_order", "bare Litestar + an order's statements", _bare_orders,
             ceiling="raw", server="bare", idempotent=True, raw_of="place_order",
             note="the floor under POST /v1/orders"),
    Scenario("bare_adjust", "bare Litestar + an adjustment's statements", _bare_adjustments,
             ceiling="raw", server="bare", idempotent=True, raw_of="adjust_stock",
             note="the floor under POST /v1/inventory/{id}/adjustments"),
    Scenario("bare_update", "bare Litestar + an update's statements", _bare_updates,
             ceiling="raw", server="bare", versioned=True, raw_of="update_product",
             note="the floor under PATCH /v1/products/{id}"),
    Scenario("create_product", "POST /v1/products", _new_product, ceiling="raw",
             idempotent=True, raw="create_product", raw_vars=_admin_vars,
             event="ProductCreated", floor="bare_create", target=0.40),
    Scenario("update_product", "PATCH /v1/products/{id}", _updates, ceiling="raw",
             versioned=True, raw="update_product", raw_vars=_update_vars,
             event="ProductUpdated", floor="bare_update", target=0.40),
    Scenario("adjust_stock", "POST /v1/inventory/{id}/adjustments", _adjustments,
             ceiling="raw", idempotent=True, raw="adjust_stock", raw_vars=_admin_vars,
             floor="bare_adjust", target=0.40),
    Scenario("place_order", "POST /v1/orders (two lines)", _orders, ceiling="raw", idempotent=True,
             raw="place_order", raw_vars=_order_vars, target=0.40, event="OrderPlaced",
             floor="bare_order"),
    Scenario("pay_order", "POST /v1/orders/{id}/payments", _payments, ceiling="raw",
             idempotent=True, fresh=_payable, raw="pay_order", raw_vars=_pay_vars, target=0.40,
             event="PaymentSucceeded",
             note="a confirmed order of its own per request; the in-process sandbox provider "
             "answers at once; its mirror runs the same statements and three commits"),
    Scenario("login", "POST /v1/auth/token", _logins, ceiling="argon2", min_seconds=5,
             note="argon2-bound: compared with pwdlib's raw verify rate here"),
    Scenario("register_user", "POST /v1/users", _registrations, ceiling="argon2-hash",
             raw="register_user", raw_vars=_register_vars, min_seconds=5,
             event="UserRegistered",
             note="argon2-bound: compared with pwdlib's raw hash rate here; its SQL alone "
             "(register_user.pgbench.sql, a fixed hash) is shown beside it"),
]

CONNECTIONS = (1, 32)
# Every scenario at this many connections: p99 at most this many times its own p50, 0 errors.
P99_OVER_P50 = 4.0
