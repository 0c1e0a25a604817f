"""Idempotency-Key: a retried command answers what the first attempt answered, and does nothing
again (draft-ietf-httpapi-idempotency-key-header, Stripe-like replay).

A slice opts in with one declaration: `@idempotent_post(...)` instead of `@post(...)`, and it
writes its effect through the injected `tx: IdempotentTx`. The kernel owns that transaction:
it stores the outcome in it and commits effect and record together, before a single byte of
the answer leaves, so no crash can keep one without the other.

One request, on one connection, in one transaction (the kernel's statements pipelined: one
round trip before the slice runs, one after it):
1. `pg_try_advisory_xact_lock(hash(caller, key))`. If another request holds it, answer 409
   `idempotency-in-progress` at once: the duplicate neither waits nor runs.
2. A live record for (caller, key): same endpoint and body -> replay its status, headers and
   body with `Idempotent-Replayed: true`; anything else -> 422 `idempotency-key-reused`.
3. No record: run the slice after a savepoint, then
   - below 400: keep the effect, store the outcome, commit;
   - 4xx: roll the effect back to the savepoint, store the outcome (a retry replays it);
   - 5xx, the 4xx that mean "not acted upon" (`NOT_STORED`), and any answer with
     `Retry-After` (the slice asks for the same request again later): roll everything back and
     store nothing, so the same key may be retried once the cause is fixed.
Records live 24 hours; every `PURGE_EVERY`th stored record per process starts a purge of
expired ones, in batches, in the background: the request that triggers it does not wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
import structlog
from litestar import Request, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.middleware import ASGIMiddleware
from litestar.params import HeaderParameter
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState
from psycopg.pq import TransactionStatus

from shared.auth.principal import Principal
from shared.db.connection import control
from shared.db.events import announcing, discard_pending, write_pending
from shared.db.pool import Database, Tx
from shared.http.middleware import read_body, replay_body
from shared.http.problems import Problem, invalid
from shared.http.ratelimit import client_ip
from shared.http.schema import problems

log = structlog.get_logger("rampart.idempotency")
HEADER = "Idempotency-Key"
TTL = "24 hours"
# Answers that say the request was not acted upon: nothing to remember, retrying is safe.
NOT_STORED = frozenset({400, 401, 403, 404, 405, 412, 413, 415, 428, 429})
PURGE_EVERY = 100
PURGE_BATCH = 1000
_TX = "idempotency.tx"
_KEY = re.compile(r"[\x20-\x7e]{1,255}")
# RFC 8941 sf-string: printable ASCII in double quotes, `\"` and `\\` the only escapes.
_QUOTED = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')

IdempotentTx = NamedDependency[Tx]
# The middleware has parsed and checked the key (`parse_key`) before Litestar reads this. No
# maxLength: a quoted key of 255 characters, each escaped, is 512 characters long on the wire.
KeyHeader = Annotated[str, HeaderParameter(
    name=HEADER, min_length=1, pattern=r"^[\x20-\x7e]+$",
    description="1-255 printable ASCII characters, bare or as a quoted string (RFC 8941); "
    "unique per request you mean to make once. Kept for 24 hours.")]


# -- rules (pure) ---------------------------------------------------------------------------


def parse_key(values: list[str]) -> str:
    """The key from the header's value(s): `abc` and `"abc"` are the same key."""
    if not values:
        raise Problem(400, f"This operation needs an {HEADER} header; retries reuse its value.",
                      slug="idempotency-key-missing", title="Idempotency key missing",
                      errors=[{"parameter": HEADER, "detail": "is required"}])
    raw = values[0].strip(" \t")
    if len(values) == 1:
        quoted = _QUOTED.fullmatch(raw)
        key = re.sub(r"\\(.)", r"\1", quoted[1]) if quoted else raw
        if (quoted or not raw.startswith('"')) and _KEY.fullmatch(key):
            return key
    raise invalid(f"{HEADER} must be one value of 1-255 printable ASCII characters, bare or "
                  'quoted ("...").', parameter=HEADER)


def fingerprint(body: bytes) -> bytes:
    """SHA-256 of the body with JSON key order and whitespace ignored: equal JSON, equal print."""
    try:
        canonical = msgspec.json.encode(msgspec.json.decode(body), order="sorted")
    except msgspec.DecodeError:
        canonical = body
    return hashlib.sha256(canonical).digest()


def caller_of(scope: Scope) -> str:
    user = scope.get("user")
    return f"user:{user.user_id}" if isinstance(user, Principal) else f"ip:{client_ip(scope)}"


def lock_id(caller: str, key: str) -> int:
    digest = hashlib.blake2b(f"{caller}\n{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Outcome(msgspec.Struct):
    """An HTTP answer, captured on its way out or loaded from a record."""

    status: int = 0
    headers: list[tuple[str, str]] = msgspec.field(default_factory=list)
    body: bytes = b""

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = [(k.decode("latin-1"), v.decode("latin-1"))
                            for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    async def send(self, send: Send, *, replayed: bool = False) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers]
        if replayed:
            headers.append((b"idempotent-replayed", b"true"))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


# -- storage --------------------------------------------------------------------------------

_LOCK = "SELECT pg_try_advisory_xact_lock(%s) AS locked"
_FIND = """
SELECT endpoint, fingerprint, status, headers, body FROM kernel.idempotency_keys
WHERE caller = %s AND key = %s AND expires_at > now()"""
# The conflict branch only ever meets an expired record that the purge has not reached yet.
_SAVE = f"""
INSERT INTO kernel.idempotency_keys
    (caller, key, endpoint, fingerprint, status, headers, body, expires_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, now() + interval '{TTL}')
ON CONFLICT (caller, key) DO UPDATE SET
    endpoint = excluded.endpoint, fingerprint = excluded.fingerprint, status = excluded.status,
    headers = excluded.headers, body = excluded.body, created_at = excluded.created_at,
    expires_at = excluded.expires_at"""
_PURGE = """
DELETE FROM kernel.idempotency_keys WHERE (caller, key) IN (
    SELECT caller, key FROM kernel.idempotency_keys WHERE expires_at <= now()
    ORDER BY expires_at LIMIT %s FOR UPDATE SKIP LOCKED)"""


async def purge_expired(db: Database, batch: int = PURGE_BATCH, max_batches: int = 10) -> int:
    """Delete expired records, one short transaction per batch; return how many went."""
    deleted = 0
    async with db.connection() as conn:
        for _ in range(max_batches):
            cur = await conn.execute(_PURGE, (batch,))
            deleted += cur.rowcount
            if cur.rowcount < batch:
                break
    return deleted


# -- the mechanism --------------------------------------------------------------------------


class Idempotency(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]
    stored = 0  # per process: paces the purge

    def __init__(self, *, second_connection: bool = False) -> None:
        # The slice also commits on a connection of its own while the record's is held.
        self.second_connection = second_connection

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        key = parse_key([v.decode("latin-1") for k, v in scope["headers"]
                         if k == b"idempotency-key"])
        caller = caller_of(scope)
        app = scope["litestar_app"]
        body = await read_body(receive, app.request_max_body_size)
        endpoint, printed = f"{scope['method']} {scope['path']}", fingerprint(body)
        db: Database = app.state.db
        outcome, replayed, stored = Outcome(), False, False

        # `announcing` wakes the relays after the commit, should the slice publish. The kernel's
        # own statements travel in pipelines (one round trip before the slice runs, one after),
        # and the transaction is spelled out, so that the savepoint needs no RELEASE: 2 round
        # trips of bookkeeping per command instead of 7.
        room = db.holding_two() if self.second_connection else contextlib.nullcontext()
        async with room, db.connection() as conn, announcing(db, conn):
            try:
                async with conn.pipeline():
                    await control(conn, "BEGIN")
                    # The lookup runs after the lock, with a snapshot taken after it: a record
                    # committed by the request that held the lock before us is seen.
                    locked = await conn.execute(_LOCK, (lock_id(caller, key),))
                    found = await conn.execute(_FIND, (caller, key))
                    await control(conn, "SAVEPOINT effect")
                if not (await locked.fetchone() or {}).get("locked"):
                    raise Problem(409, "A request with this Idempotency-Key is still being "
                                  "processed; retry shortly.", slug="idempotency-in-progress",
                                  title="Idempotent request in progress",
                                  headers={"Retry-After": "1"})
                row = await found.fetchone()
                if row is not None:
                    if (row["endpoint"], bytes(row["fingerprint"])) != (endpoint, printed):
                        raise Problem(422, "This Idempotency-Key was already used for a "
                                      "different request; send a new key for a new request.",
                                      slug="idempotency-key-reused",
                                      title="Idempotency key reused")
                    outcome = Outcome(row["status"], [tuple(h) for h in row["headers"]],
                                      bytes(row["body"]))
                    replayed = True
                else:
                    scope.setdefault("state", {})[_TX] = conn
                    await next_app(scope, replay_body(body, receive), outcome.capture)
                    # Nothing has reached the client yet: if the commit fails, Litestar must
                    # still be free to answer 500 instead of the captured answer.
                    ScopeState.from_scope(scope).response_started = False
                    # An answer that says "retry later" (Retry-After) is never the final one.
                    if (outcome.status < 500 and outcome.status not in NOT_STORED
                            and not any(k.lower() == "retry-after" for k, _ in outcome.headers)):
                        async with conn.pipeline():
                            if outcome.status >= 400:  # the answer is kept, the effect is not
                                await control(conn, "ROLLBACK TO SAVEPOINT effect")
                                discard_pending(conn)
                            # The slice's events travel with the commit (shared/db/events.py).
                            await write_pending(conn)
                            await conn.execute(_SAVE, (
                                caller, key, endpoint, printed, outcome.status,
                                msgspec.json.encode(outcome.headers).decode(), outcome.body))
                            await control(conn, "COMMIT")
                        stored = True
            finally:
                # Everything but a stored outcome ends here: nothing of it is kept.
                if not stored:
                    discard_pending(conn)
                if not conn.broken and conn.info.transaction_status != TransactionStatus.IDLE:
                    await control(conn, "ROLLBACK")
        # Committed (or rolled back) before the caller hears anything.
        await outcome.send(send, replayed=replayed)
        if stored:
            Idempotency.stored += 1
            if Idempotency.stored % PURGE_EVERY == 0:
                _purge_in_background(db)


_purges: set[asyncio.Task[int]] = set()  # strong references, so a running purge is kept


def _purge_in_background(db: Database) -> None:
    """Upkeep off the request: it neither delays this answer nor fails it."""
    if _purges:  # one at a time per process is enough
        return
    task = asyncio.get_running_loop().create_task(purge_expired(db), name="idempotency-purge")
    _purges.add(task)
    task.add_done_callback(_purge_done)


def _purge_done(task: asyncio.Task[int]) -> None:
    _purges.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("idempotency_purge_failed", error=type(task.exception()).__name__)


def _provide_tx(request: Request[Any, Any, Any], idempotency_key: KeyHeader) -> Tx:
    # Declaring the header here documents it in OpenAPI; the middleware already validated it.
    return request.scope["state"][_TX]


def idempotent_post(path: str, *, second_connection: bool = False,
                    **kwargs: Any) -> Callable[..., Any]:
    """`@post(...)` for a command that requires an Idempotency-Key; the handler takes
    `tx: IdempotentTx` and writes its whole effect through it (no commit of its own). A slice
    that must also commit apart from that transaction (`db.transaction()` while `tx` is open:
    a payment's phases) says `second_connection=True`: the request then waits, holding no
    connection, while half the pool is held by such requests (`Database.holding_two`)."""
    return post(
        path,
        middleware=[*kwargs.pop("middleware", ()), Idempotency(
            second_connection=second_connection)],
        dependencies={**kwargs.pop("dependencies", {}),
                      "tx": Provide(_provide_tx, sync_to_thread=False)},
        responses={**problems(409, 422), **kwargs.pop("responses", {})},
        response_headers=[*kwargs.pop("response_headers", ()), ResponseHeader(
            name="Idempotent-Replayed", documentation_only=True, required=False,
            description="`true` when this is the stored answer to an earlier request.")],
        **kwargs,
    )
