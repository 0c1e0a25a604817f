"""The ceilings: a bare Litestar app served by granian in the same process model as Rampart.

`GET /bare` is a sync handler with no middleware; `GET /bare-db/{id}` adds one pooled psycopg
query (the floor under any database-backed read), without Rampart's kernel (auth, limits,
envelope, logs, metrics, spans). BENCH_DATABASE_URL names the database for the rest.

The write floors, `POST /bare-create`, `POST /bare-order`, `POST /bare-adjust/{id}` and
`PATCH /bare-update/{id}`, send exactly the statements of a product creation, an order, a stock
adjustment and a product update (the slices' own SQL, and the order's own pricing), in the same
round trips as Rampart (the Idempotency-Key kernel's two pipelines around the slice's
statements, the event in the second; the update's BEGIN with its statement and its event with
the COMMIT), through the same psycopg pool settings, and nothing else: no authentication, rate
limit, pacing, logs, metrics, spans, dependency injection, and no relay to deliver the event
(its deliveries go to `bench.raw.*` subscribers, which nobody has, as the pgbench mirrors'
do). Their ratio to the raw ceiling is what Python, Litestar, msgspec and psycopg on this
machine leave of PostgreSQL's rate before Rampart adds anything.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Litestar, Request, Response, get, patch, post
from litestar.params import FromPath
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from uuid_utils.compat import uuid7

from bench.scenarios import RAW_SUBSCRIBER
from features.catalog.create_product.schema import NewProduct
from features.catalog.create_product.sql import INSERT_PRODUCT
from features.catalog.schema import Product
from features.catalog.update_product import logic as update_logic
from features.catalog.update_product.schema import ProductChanges
from features.catalog.update_product.sql import CURRENT_VERSION, UPDATE_PRODUCT
from features.inventory.adjust_stock.schema import Adjustment
from features.inventory.adjust_stock.sql import APPLY_ADJUSTMENT
from features.ordering.place_order import sql as order_sql
from features.ordering.place_order.logic import price_order
from features.ordering.place_order.schema import PlaceOrder
from shared.db.events import _PUBLISH_MANY, AGGREGATE_LOCK_SPACE, subscribers_of
from shared.http.idempotency import _FIND, _LOCK, _SAVE, lock_id

_pool: AsyncConnectionPool | None = None
USER_ID = UUID("0196f0e2-0000-7000-8000-0000000000b0")  # who places the floor's orders
CALLER = "bench:bare"


@get("/bare", sync_to_thread=False)
def bare() -> dict[str, str]:
    return {"status": "ok"}


@get("/bare-db/{product_id:uuid}")
async def bare_db(product_id: FromPath[UUID]) -> dict[str, Any]:
    assert _pool is not None
    async with _pool.connection() as conn:
        cur = await conn.execute("SELECT id, sku, name, price_cents FROM catalog.products"
                                 " WHERE id = %s", (product_id,))
        row = await cur.fetchone()
    assert row is not None
    return {"id": str(row["id"]), "sku": row["sku"], "name": row["name"],
            "price_cents": row["price_cents"]}


@post("/bare-create")
async def bare_create(request: Request[Any, Any, Any]) -> Response[bytes]:
    body = await request.body()
    data = msgspec.json.decode(body, type=NewProduct)
    now = datetime.now(UTC)
    product = Product(id=uuid7(), sku=data.sku, name=data.name, description=data.description,
                      price_cents=data.price_cents, currency=data.currency,
                      category=data.category, version=1, created_at=now, updated_at=now)
    answer = msgspec.json.encode(product)
    headers = {"Location": f"/v1/products/{product.id}", "ETag": '"1"'}
    publish = _publishing("ProductCreated", product.id, {
        "product_id": product.id, "sku": product.sku, "name": product.name,
        "description": product.description, "price_cents": product.price_cents,
        "currency": product.currency, "category": product.category})
    async with _idempotent(request, body) as conn:
        await conn.execute(INSERT_PRODUCT, msgspec.structs.asdict(product))
        await _commit(conn, request, body, 201, headers, answer, publish)
    return Response(answer, status_code=201, headers=headers, media_type="application/json")


@post("/bare-order")
async def bare_order(request: Request[Any, Any, Any]) -> Response[bytes]:
    body = await request.body()
    data = msgspec.json.decode(body, type=PlaceOrder)
    async with _idempotent(request, body) as conn:
        prices = await order_sql.prices_of(conn, [item.product_id for item in data.items])
        order = price_order(USER_ID, data.items, prices)
        await order_sql.insert_order(conn, order)
        answer = msgspec.json.encode(order)
        headers = {"Location": f"/v1/orders/{order.id}", "ETag": '"1"'}
        await _commit(conn, request, body, 201, headers, answer, _publishing(
            "OrderPlaced", order.id, {"order_id": order.id, "user_id": order.user_id, "lines": [
                {"product_id": i.product_id, "quantity": i.quantity} for i in order.items]}))
    return Response(answer, status_code=201, headers=headers, media_type="application/json")


@post("/bare-adjust/{product_id:uuid}")
async def bare_adjust(product_id: FromPath[UUID],
                      request: Request[Any, Any, Any]) -> Response[bytes]:
    body = await request.body()
    data = msgspec.json.decode(body, type=Adjustment)
    async with _idempotent(request, body) as conn:
        cur = await conn.execute(APPLY_ADJUSTMENT, {
            "id": uuid7(), "product_id": product_id, "delta": data.delta,
            "reason": data.reason, "created_at": datetime.now(UTC)})
        row = await cur.fetchone()
        assert row is not None
        answer = msgspec.json.encode(row)
        headers = {"Content-Location": f"/v1/inventory/{product_id}"}
        await _commit(conn, request, body, 201, headers, answer, None)
    return Response(answer, status_code=201, headers=headers, media_type="application/json")


@patch("/bare-update/{product_id:uuid}")
async def bare_update(product_id: FromPath[UUID],
                      request: Request[Any, Any, Any]) -> Response[bytes]:
    body = await request.body()
    changes = update_logic.changes(msgspec.json.decode(body, type=ProductChanges))
    versions = [int(request.headers["if-match"].strip('"'))]
    assert _pool is not None
    async with _pool.connection() as conn:
        async with conn.pipeline():
            await conn.execute("BEGIN", prepare=False)
            cur = await conn.execute(UPDATE_PRODUCT, {
                **msgspec.structs.asdict(changes), "id": product_id, "versions": versions})
        row = await cur.fetchone()
        if row is None:  # another connection moved it on: 412 with the version it is at
            cur = await conn.execute(CURRENT_VERSION, (product_id,))
            current = await cur.fetchone()
            await conn.execute("ROLLBACK", prepare=False)
            assert current is not None
            return Response(b"", status_code=412, headers={"ETag": f'"{current["version"]}"'})
        product = msgspec.convert(row, Product)
        async with conn.pipeline():
            await conn.execute(_PUBLISH_MANY, _publishing("ProductUpdated", product.id, {
                "product_id": product.id, "name": product.name,
                "description": product.description, "price_cents": product.price_cents,
                "currency": product.currency, "category": product.category,
                "version": product.version}))
            await conn.execute("COMMIT", prepare=False)
    return Response(msgspec.json.encode(product), headers={"ETag": f'"{product.version}"'},
                    media_type="application/json")


def _publishing(event_type: str, aggregate_id: UUID, payload: dict[str, Any]
                ) -> dict[str, Any]:
    """_PUBLISH_MANY's parameters for one event, as write_pending builds them, with one
    delivery per real subscriber of its type, to nobody."""
    now = datetime.now(UTC)
    event = {"n": 0, "id": uuid7(), "type": event_type, "aggregate_id": aggregate_id,
             "payload": msgspec.Raw(msgspec.json.encode(payload)), "traceparent": None,
             "occurred_at": now, "deliveries": [
                 {"id": uuid7(), "subscriber": f"{RAW_SUBSCRIBER}{i}"}
                 for i in range(len(subscribers_of(event_type)))]}
    key = int.from_bytes(aggregate_id.bytes[-4:], "big", signed=True)
    return {"space": AGGREGATE_LOCK_SPACE, "keys": msgspec.json.encode([key]).decode(),
            "events": msgspec.json.encode([event]).decode()}


@asynccontextmanager
async def _idempotent(request: Request[Any, Any, Any], body: bytes) -> AsyncIterator[Any]:
    """The kernel's first pipeline: begin, try the key's lock, look for its record, set the
    savepoint (every key here is fresh: the lock is always free, the record never there)."""
    assert _pool is not None
    key = request.headers["idempotency-key"]
    async with _pool.connection() as conn:
        async with conn.pipeline():
            await conn.execute("BEGIN", prepare=False)
            locked = await conn.execute(_LOCK, (lock_id(CALLER, key),))
            found = await conn.execute(_FIND, (CALLER, key))
            await conn.execute("SAVEPOINT effect", prepare=False)
        assert (await locked.fetchone() or {}).get("locked")
        assert await found.fetchone() is None
        yield conn


async def _commit(conn: Any, request: Request[Any, Any, Any], body: bytes, status: int,
                  headers: dict[str, str], answer: bytes, publish: dict[str, Any] | None
                  ) -> None:
    """The kernel's second pipeline: the events, the stored outcome, COMMIT."""
    key = request.headers["idempotency-key"]
    async with conn.pipeline():
        if publish is not None:
            await conn.execute(_PUBLISH_MANY, publish)
        await conn.execute(_SAVE, (
            CALLER, key, f"POST {request.url.path}", hashlib.sha256(body).digest(), status,
            msgspec.json.encode([["content-type", "application/json"],
                                 *([k.lower(), v] for k, v in headers.items())]).decode(),
            answer))
        await conn.execute("COMMIT", prepare=False)


@asynccontextmanager
async def _pool_lifespan(_: Litestar) -> AsyncIterator[None]:
    global _pool
    url = os.environ.get("BENCH_DATABASE_URL")
    subscribers_of("ProductCreated")  # reads the manifests once, before the first request
    if url:
        # Rampart's pool settings (shared/db/pool.py, the defaults of shared/settings.py).
        _pool = AsyncConnectionPool(url, min_size=4, max_size=16, open=False, kwargs={
            "autocommit": True, "row_factory": dict_row, "prepare_threshold": 2,
            "options": "-c TimeZone=UTC"})
        await _pool.open()
    yield
    if _pool is not None:
        await _pool.close()


app = Litestar([bare, bare_db, bare_create, bare_order, bare_adjust, bare_update],
              lifespan=[_pool_lifespan])
