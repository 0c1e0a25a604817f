"""Admin endpoints for the outbox's dead letters: list them, put one back in the queue.

A dead letter holds back the later deliveries of its lane (same subscriber and aggregate)
until it is retried: the list shows what is stuck, the retry releases it once fixed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from shared.auth.principal import admin_only
from shared.db.events import NOTIFY_CHANNEL
from shared.http.deps import Db
from shared.http.pagination import Cursor, Limit, Page, page_query, page_response
from shared.http.problems import conflict, not_found
from shared.http.schema import problems

_COLUMNS = """d.id, d.event_id, e.type AS event_type, d.subscriber, d.aggregate_id, d.state,
    d.attempts, d.last_error, d.created_at, d.last_attempt_at, d.next_attempt_at"""
# Keyset on the UUIDv7 id, newest first, served by the partial index of dead deliveries.
_FIRST_PAGE = f"""SELECT {_COLUMNS} FROM kernel.outbox_deliveries d
JOIN kernel.outbox_events e ON e.id = d.event_id
WHERE d.state = 'dead' ORDER BY d.id DESC LIMIT %s"""
_NEXT_PAGE = f"""SELECT {_COLUMNS} FROM kernel.outbox_deliveries d
JOIN kernel.outbox_events e ON e.id = d.event_id
WHERE d.state = 'dead' AND d.id < %s ORDER BY d.id DESC LIMIT %s"""
# A fresh set of attempts, due now. The last error stays for the record.
_RETRY = f"""WITH retried AS (
    UPDATE kernel.outbox_deliveries
    SET state = 'pending', attempts = 0, next_attempt_at = now()
    WHERE id = %s AND state = 'dead'
    RETURNING *)
SELECT {_COLUMNS} FROM retried d JOIN kernel.outbox_events e ON e.id = d.event_id"""
_EXISTS = "SELECT 1 FROM kernel.outbox_deliveries WHERE id = %s"


class DeadLetter(msgspec.Struct, frozen=True):
    """One delivery of one event to one subscriber whose handler kept failing."""

    id: UUID
    event_id: UUID
    event_type: str
    subscriber: str
    aggregate_id: UUID
    state: Literal["pending", "dead"]
    attempts: int
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime


@get("/v1/admin/outbox/dead-letters", guards=[admin_only], operation_id="listDeadLetters",
     tags=["admin"], responses=problems(401, 403))
async def list_dead_letters(request: Request[Any, Any, Any], db: Db, limit: Limit = 20,
                            cursor: Cursor = None) -> Response[Page[DeadLetter]]:
    """Deliveries that used up their attempts, newest first."""
    page = page_query(request, limit, cursor)
    async with db.connection() as conn:
        if page.after is None:
            cur = await conn.execute(_FIRST_PAGE, (page.fetch,))
        else:
            cur = await conn.execute(_NEXT_PAGE, (page.after, page.fetch))
        rows = await cur.fetchall()
    return page_response(request, page, msgspec.convert(rows, list[DeadLetter]))


@post("/v1/admin/outbox/dead-letters/{letter_id:uuid}/retry", guards=[admin_only],
      operation_id="retryDeadLetter", tags=["admin"], status_code=200,
      responses=problems(401, 403, 404, 409))
async def retry_dead_letter(letter_id: FromPath[UUID], db: Db) -> DeadLetter:
    """Put a dead letter back in the queue with a fresh set of attempts (409 if not dead).

    A malformed id is a 404 (routing), like every id in a path."""
    delivery_id = letter_id
    async with db.transaction() as tx:
        row = await (await tx.execute(_RETRY, (delivery_id,))).fetchone()
        if row is None:
            if await (await tx.execute(_EXISTS, (delivery_id,))).fetchone():
                raise conflict("This delivery is not a dead letter.")
            raise not_found("No such dead letter.")
        await tx.execute("SELECT pg_notify(%s, '')", (NOTIFY_CHANNEL,))
    return msgspec.convert(row, DeadLetter)


routes = [list_dead_letters, retry_dead_letter]
