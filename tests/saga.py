"""Helpers for the tests of the order saga: the scene (products with prices and stock) and a
deliberate deliverer of outbox events.

`Deliveries` runs pending deliveries through their real subscribers' handlers, one
transaction each with the delivery's acknowledgement, exactly as the relay commits them, but
in an order the test chooses: any lane head (a delivery whose earlier lane mates are done),
which is every order of arrival the relay itself may produce. It can also run an already
delivered event's handler again: a redelivery, as after a crash between effect and ack.
"""

from __future__ import annotations

import random
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg.rows import dict_row
from uuid_utils.compat import uuid7

from shared.modules import Subscription, discover

HEADS = """
SELECT d.id, d.subscriber, e.type, e.payload::text AS payload, d.aggregate_id
FROM kernel.outbox_deliveries d JOIN kernel.outbox_events e ON e.id = d.event_id
WHERE d.state = 'pending' AND d.subscriber = ANY(%(subscribers)s)
  AND NOT EXISTS (
      SELECT 1 FROM kernel.outbox_deliveries earlier
      WHERE earlier.subscriber = d.subscriber AND earlier.aggregate_id = d.aggregate_id
        AND earlier.seq < d.seq AND earlier.state <> 'done')
ORDER BY d.seq"""
DONE = """
SELECT d.id, d.subscriber, e.type, e.payload::text AS payload, d.aggregate_id
FROM kernel.outbox_deliveries d JOIN kernel.outbox_events e ON e.id = d.event_id
WHERE d.state = 'done' AND d.subscriber = ANY(%(subscribers)s) ORDER BY d.seq"""
ACK = "UPDATE kernel.outbox_deliveries SET state = 'done', done_at = now() WHERE id = %s"


def subscriptions(*names: str) -> dict[str, Subscription]:
    """The app's subscriptions by name (all of them, or those named)."""
    found = {s.name: s for m in discover() for s in m.subscriptions}
    return {n: found[n] for n in names} if names else found


class Deliveries:
    """`async with Deliveries(url) as bus:` one connection for everything it runs."""

    def __init__(self, database_url: str, *names: str) -> None:
        self.url = database_url
        self.subs = subscriptions(*names)
        self._conn: psycopg.AsyncConnection[dict[str, Any]] | None = None

    async def __aenter__(self) -> Deliveries:
        self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True,
                                                           row_factory=dict_row)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._conn is not None
        await self._conn.close()

    async def _rows(self, query: str, only: tuple[str, ...]) -> list[dict[str, Any]]:
        assert self._conn is not None, "use `async with Deliveries(...)`"
        cur = await self._conn.execute(query, {"subscribers": list(only or self.subs)})
        return await cur.fetchall()

    async def _run(self, row: dict[str, Any], *, ack: bool) -> None:
        assert self._conn is not None
        sub = self.subs[row["subscriber"]]
        payload = msgspec.json.decode(row["payload"], type=sub.payload_type)
        async with self._conn.transaction():
            await sub.handler(payload, self._conn)
            if ack:
                await self._conn.execute(ACK, (row["id"],))

    async def heads(self, *only: str) -> list[dict[str, Any]]:
        return await self._rows(HEADS, only)

    async def deliver(self, *only: str, order_id: UUID | None = None) -> int:
        """Deliver every pending delivery (of the subscribers named, of one order) until none
        is left, lane order kept; returns how many ran."""
        ran = 0
        while True:
            rows = [r for r in await self.heads(*only)
                    if order_id is None or r["aggregate_id"] == order_id]
            if not rows:
                return ran
            for row in rows:
                await self._run(row, ack=True)
                ran += 1

    async def deliver_one(self, rng: random.Random, *only: str) -> bool:
        """One lane head, chosen at random; False when nothing is pending."""
        rows = await self.heads(*only)
        if not rows:
            return False
        await self._run(rng.choice(rows), ack=True)
        return True

    async def drain(self, rng: random.Random) -> int:
        """Deliver until nothing is pending, each time a lane head chosen at random."""
        ran = 0
        while await self.deliver_one(rng):
            ran += 1
        return ran

    async def redeliver_one(self, rng: random.Random) -> bool:
        """Run the handler of an event already delivered once more (at-least-once delivery)."""
        rows = await self._rows(DONE, ())
        if not rows:
            return False
        await self._run(rng.choice(rows), ack=False)
        return True

    async def redeliver_all(self, *only: str) -> int:
        rows = await self._rows(DONE, only)
        for row in rows:
            await self._run(row, ack=False)
        return len(rows)


async def product(db_conn: Any, *, price_cents: int = 1000, currency: str = "EUR",
                  on_hand: int = 0) -> UUID:
    """A product as ordering and inventory know it once catalog's ProductCreated reached them
    (each module's own table, as its handler would have written it)."""
    product_id = uuid7()
    await db_conn.execute(
        "INSERT INTO ordering.product_prices (product_id, price_cents, currency, version,"
        " updated_at) VALUES (%s, %s, %s, 1, now())", (product_id, price_cents, currency))
    await db_conn.execute(
        "INSERT INTO inventory.stock_levels (product_id, on_hand) VALUES (%s, %s)",
        (product_id, on_hand))
    return product_id


async def stock(db_conn: Any, product_id: UUID) -> tuple[int, int]:
    """(on_hand, reserved)"""
    cur = await db_conn.execute("SELECT on_hand, reserved FROM inventory.stock_levels"
                                " WHERE product_id = %s", (product_id,))
    row = await cur.fetchone()
    return row["on_hand"], row["reserved"]


async def order_status(db_conn: Any, order_id: UUID | str) -> str:
    cur = await db_conn.execute("SELECT status FROM ordering.orders WHERE id = %s", (order_id,))
    return (await cur.fetchone())["status"]


async def events_of(db_conn: Any, order_id: UUID | str) -> list[str]:
    """The types of the events published about an order, in commit order."""
    cur = await db_conn.execute("SELECT type FROM kernel.outbox_events WHERE aggregate_id = %s"
                                " ORDER BY seq", (order_id,))
    return [row["type"] for row in await cur.fetchall()]


async def order_in(db_conn: Any, status: str, *, user_id: UUID | None = None,
                   lines: list[tuple[UUID, int]] | None = None) -> UUID:
    """An order already in `status` (its lines at 100 cents each), written as ordering's own
    slices would have left it."""
    order_id, user_id = uuid7(), user_id or uuid7()
    lines = lines or [(await product(db_conn), 1)]
    await db_conn.execute(
        "INSERT INTO ordering.orders (id, user_id, status, total_cents, currency,"
        " rejection_reason, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, 'EUR', %s, now(), now())",
        (order_id, user_id, status, 100 * sum(q for _, q in lines),
         "insufficient_stock" if status == "rejected" else None))
    for position, (product_id, quantity) in enumerate(lines):
        await db_conn.execute(
            "INSERT INTO ordering.order_lines (order_id, position, product_id, quantity,"
            " unit_price_cents) VALUES (%s, %s, %s, %s, 100)",
            (order_id, position, product_id, quantity))
    return order_id


async def handle(database_url: str, handler: Any, event: Any) -> None:
    """Run one subscriber's handler on `event` in a transaction of its own, as the relay does."""
    async with await psycopg.AsyncConnection.connect(
            database_url, row_factory=dict_row) as tx, tx.transaction():
        await handler(event, tx)
