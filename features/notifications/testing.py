"""Helpers for the notification slices' tests (the SMTP server is in conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from tests.fixtures import waiting_on_a_lock

Handler = Callable[[Any, Any], Awaitable[None]]


async def handle(db_conn: Any, handler: Handler, event: Any) -> None:
    """Deliver `event` as the relay does: in a transaction of its own."""
    async with db_conn.transaction():
        await handler(event, db_conn)


async def notifications(db_conn: Any, user_id: UUID | None = None) -> list[dict[str, Any]]:
    cur = await db_conn.execute(
        "SELECT id, user_id, kind, source_id, subject, body FROM notifications.notifications"
        " WHERE %(user)s::uuid IS NULL OR user_id = %(user)s ORDER BY id", {"user": user_id})
    return await cur.fetchall()


async def announced(db_conn: Any) -> list[dict[str, Any]]:
    """The NotificationCreated events published so far, oldest first."""
    cur = await db_conn.execute("SELECT payload::jsonb AS payload FROM kernel.outbox_events"
                                " WHERE type = 'NotificationCreated' ORDER BY seq")
    return [row["payload"] for row in await cur.fetchall()]


async def handle_twice_at_once(database_url: str, db_conn: Any, handler: Handler,
                               event: Any) -> None:
    """Two deliveries of one event, the second meeting the first's uncommitted row (as when a
    relay takes over a delivery whose lease ran out while the first was still at it)."""

    async def second(conn: Any) -> None:
        async with conn.transaction():
            await handler(event, conn)

    connect = psycopg.AsyncConnection.connect
    async with await connect(database_url, row_factory=dict_row) as one, \
            await connect(database_url, row_factory=dict_row) as two:
        async with one.transaction():
            await handler(event, one)
            racing = asyncio.create_task(second(two))
            await waiting_on_a_lock(db_conn)
        await racing


async def batches_at_once(database_url: str, handler: Handler, *batches: list[Any]) -> None:
    """Each batch handed to `handler` (a `handle_many`) at the same time, each on a connection
    and in a transaction of its own, as relays side by side do."""

    async def one(batch: list[Any]) -> None:
        async with await psycopg.AsyncConnection.connect(
                database_url, row_factory=dict_row) as conn, conn.transaction():
            await handler(batch, conn)

    await asyncio.gather(*(one(batch) for batch in batches))


async def deliveries(db_conn: Any, subscriber: str) -> list[dict[str, Any]]:
    cur = await db_conn.execute(
        "SELECT event_id, state, attempts, last_error FROM kernel.outbox_deliveries"
        " WHERE subscriber = %s ORDER BY seq", (subscriber,))
    return await cur.fetchall()


async def recorded_once(db_conn: Any, handler: Handler, event: Any, *, kind: str,
                        source_id: UUID) -> dict[str, Any]:
    """Deliver `event` twice (a redelivery): one notification for its user, announced once."""
    await handle(db_conn, handler, event)
    await handle(db_conn, handler, event)
    [row] = await notifications(db_conn)
    assert (row["user_id"], row["kind"], row["source_id"]) == (event.user_id, kind, source_id)
    assert await announced(db_conn) == [{"notification_id": str(row["id"]),
                                         "user_id": str(event.user_id), "kind": kind}]
    return row
