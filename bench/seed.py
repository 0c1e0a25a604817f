"""Realistic data for the bench: products with stock, users with tokens, some orders.

Products, users and stock are written with the slices' own logic and SQL in this process (the
HTTP path would spend minutes in argon2 and round trips for no information), and publish the
same events their slices publish: the server's relays build inventory's (and ordering's)
projections from them, as in production, and seeding waits until the outbox is drained.
Orders go through the API, since only the ordering slice knows how to place one. The orders a
payment scenario pays are written straight into ordering's and payments' tables as confirmed
(`payable_orders`, before every run: each is paid once), as the saga would leave them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
from datetime import UTC, datetime
from uuid import UUID

import httpx
import psycopg
from uuid_utils.compat import uuid7

from bench.scenarios import Seed
from features.catalog.create_product import logic as product_logic
from features.catalog.create_product import sql as product_sql
from features.catalog.create_product.schema import NewProduct
from features.catalog.events import ProductCreated
from features.identity.events import UserRegistered
from features.identity.register_user import logic as user_logic
from features.identity.register_user import sql as user_sql
from features.inventory.adjust_stock import logic as stock_logic
from features.inventory.adjust_stock import sql as stock_sql
from features.inventory.adjust_stock.schema import Adjustment
from shared.auth.passwords import hash_password
from shared.auth.principal import Principal
from shared.auth.tokens import TokenService
from shared.db import Database
from shared.db.events import publish, subscribers_of

PASSWORD = "bench password"
KEY_ID = "k1"
TOKEN_TTL = 6 * 3600  # longer than any run: tokens must not expire under load
STOCK = 1_000_000_000  # every product: orders never run out of it during a run
BATCH = 500
PAYABLE_PER_RUN = 20_000  # more than a run pays: a second payment of one order would be a 409
MIRROR_ORDERS = 10_000  # the pay mirror's confirmed orders, payments.orders only


async def seed(url: str, base: str, signing_key: str, products: int, users: int,
               orders: int) -> tuple[Seed, list[str]]:
    notes: list[str] = []
    db = Database(url, min_size=1, max_size=2)
    await db.open()
    try:
        stored = await hash_password(PASSWORD)  # one hash for every account: argon2 is slow
        accounts = [("bench-admin@example.com", "admin")] + [
            (f"bench-user-{i}@example.com", "customer") for i in range(1, users + 1)]
        made: list[tuple[str, str, str]] = []
        for start in range(0, len(accounts), BATCH):
            async with db.transaction() as tx:
                for email, role in accounts[start:start + BATCH]:
                    user = user_logic.new_user(email, "Bench", stored, role)
                    await user_sql.insert_user(tx, user)
                    await publish(tx, UserRegistered(user_id=user.id, email=user.email,
                                                     name=user.name))
                    made.append((str(user.id), email, role))
        tokens = TokenService(signing_key, kid=KEY_ID, ttl=TOKEN_TTL)
        signed = [(uid, email, tokens.issue(Principal(UUID(uid), role)))  # type: ignore[arg-type]
                  for uid, email, role in made]

        product_ids: list[str] = []
        for start in range(1, products + 1, BATCH):
            async with db.transaction() as tx:
                for i in range(start, min(start + BATCH, products + 1)):
                    product = product_logic.new_product(NewProduct(
                        sku=f"SEED-{i}", name=f"Seeded product {i}", price_cents=100 + i % 9900,
                        currency="EUR", category=f"category-{i % 20}",
                        description="A product the bench made."))
                    await product_sql.insert_product(tx, product)
                    await publish(tx, ProductCreated(
                        product_id=product.id, sku=product.sku, name=product.name,
                        description=product.description, price_cents=product.price_cents,
                        currency=product.currency, category=product.category))
                    product_ids.append(str(product.id))
        await drained(db)

        missing = 0
        for start in range(0, len(product_ids), BATCH):
            async with db.transaction() as tx:
                for pid in product_ids[start:start + BATCH]:
                    adjustment = stock_logic.new_adjustment(UUID(pid), Adjustment(
                        delta=STOCK, reason="bench seed"))
                    missing += await stock_sql.apply_adjustment(tx, adjustment) is None
        if missing:
            notes.append(f"{missing} products had no stock level to seed (inventory did not "
                         "learn them)")

        async with db.connection() as conn:  # bench_order_id(): bench/pgbench.py
            await conn.execute(
                "INSERT INTO payments.orders (order_id, user_id, status, total_cents, currency,"
                " updated_at) SELECT bench_order_id(k), %s, 'confirmed', 1234, 'EUR', now()"
                " FROM generate_series(1, %s) AS k", (signed[1][0], MIRROR_ORDERS))

        placed = await place_orders(base, signed, product_ids, orders)
        if placed is None:
            notes.append("no orders seeded: POST /v1/orders is not built on this branch")
        await drained(db)
        found = Seed(product_ids=product_ids, users=signed[1:], admin_id=signed[0][0],
                     admin_token=signed[0][2], password=PASSWORD, password_hash=stored,
                     orders=placed or 0, subscribers={e: list(subscribers_of(e)) for e in (
                         "ProductCreated", "ProductUpdated", "OrderPlaced", "UserRegistered",
                         "PaymentSucceeded")})
        return found, notes
    finally:
        await db.close()


def payable_orders(url: str, seed: Seed, count: int = PAYABLE_PER_RUN) -> Seed:
    """`count` new confirmed orders of 12.34 EUR, the seeded users' in turn, in ordering's table
    and payments' (as OrderConfirmed leaves them): the seed, with them to pay."""
    now = datetime.now(UTC)
    made = [(uuid7(), seed.users[i % len(seed.users)]) for i in range(count)]
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor().copy("COPY ordering.orders (id, user_id, status, total_cents,"
                                " currency, version, created_at, updated_at) FROM STDIN") as cp:
            for order_id, (user_id, _, _) in made:
                cp.write_row((order_id, user_id, "confirmed", 1234, "EUR", 2, now, now))
        with conn.cursor().copy("COPY payments.orders (order_id, user_id, status, total_cents,"
                                " currency, updated_at) FROM STDIN") as cp:
            for order_id, (user_id, _, _) in made:
                cp.write_row((order_id, user_id, "confirmed", 1234, "EUR", now))
    return dataclasses.replace(seed, payable=[(str(o), token) for o, (_, _, token) in made])


async def place_orders(base: str, users: list[tuple[str, str, str]], product_ids: list[str],
                       count: int) -> int | None:
    """`count` orders of one to three lines through the API; None if ordering is absent."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        placed = 0
        for i in range(count):
            _, _, token = users[1 + i % (len(users) - 1)] if len(users) > 1 else users[0]
            lines = [{"product_id": product_ids[(i * 7 + j) % len(product_ids)],
                      "quantity": 1 + j} for j in range(1 + i % 3)]
            answer = await client.post("/v1/orders", content=json.dumps({"items": lines}),
                                       headers={"Authorization": f"Bearer {token}",
                                                "Idempotency-Key": secrets.token_hex(16),
                                                "Content-Type": "application/json"})
            if answer.status_code in (404, 405):
                return None
            answer.raise_for_status()
            placed += 1
        return placed


async def drained(db: Database, timeout: float = 600) -> None:
    """Wait until the server's relays have delivered every pending event."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with db.connection() as conn:
        while True:
            cur = await conn.execute("SELECT count(*) AS n FROM kernel.outbox_deliveries "
                                     "WHERE state = 'pending'")
            row = await cur.fetchone()
            if not row or row["n"] == 0:
                return
            if loop.time() > deadline:
                raise RuntimeError(f"the outbox still holds {row['n']} deliveries")
            await asyncio.sleep(0.2)
