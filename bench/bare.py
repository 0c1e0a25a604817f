"""The ceiling: a bare Litestar app served by granian in the same process model as Rampart.

`GET /bare` is a sync handler with no middleware; `GET /bare-db/{id}` adds one pooled psycopg
query (the floor under any database-backed read), without Rampart's kernel (auth, limits,
envelope, logs, metrics, spans). BENCH_DATABASE_URL names the database for the second.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from litestar import Litestar, get
from psycopg_pool import AsyncConnectionPool

_pool: AsyncConnectionPool | None = None


@get("/bare", sync_to_thread=False)
def bare() -> dict[str, str]:
    return {"status": "ok"}


@get("/bare-db/{product_id:uuid}")
async def bare_db(product_id: UUID) -> dict[str, Any]:
    assert _pool is not None
    async with _pool.connection() as conn:
        cur = await conn.execute("SELECT id, sku, name, price_cents FROM catalog.products"
                                 " WHERE id = %s", (product_id,))
        row = await cur.fetchone()
    assert row is not None
    return {"id": str(row[0]), "sku": row[1], "name": row[2], "price_cents": row[3]}


@asynccontextmanager
async def _pool_lifespan(_: Litestar) -> AsyncIterator[None]:
    global _pool
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        _pool = AsyncConnectionPool(url, min_size=4, max_size=16, open=False,
                                    kwargs={"autocommit": True})
        await _pool.open()
    yield
    if _pool is not None:
        await _pool.close()


app = Litestar([bare, bare_db], lifespan=[_pool_lifespan])
