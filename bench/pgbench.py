"""The raw-PostgreSQL mirrors: bench/pgbench/<name>.pgbench.sql, rendered for pgbench.

A line `@module:NAME [args]` becomes the SQL constant NAME of `module`, psycopg placeholders
turned into pgbench variables: `%(x)s` -> `:x` (or `:y` given `x=y`; `x=NULL` puts SQL's NULL
there, which a pgbench variable cannot hold), each `%s` -> the next plain name in args. The
mirrors thus run the very statements the slices and the kernel run, in the same round trips.
Written once here for every mirror:
- `@@begin-idempotent` and `@@end-idempotent` stand for what shared/http/idempotency.py wraps
  around every idempotent command, in its two pipelines; they read the variables r (the lock
  id), caller, idem_key, endpoint, fingerprint, answer_status, headers and body;
- `@@commit` is `Database.transaction()`'s commit (shared/db/pool.py), one round trip;
- `publishing` after either end sends shared/db/events.py's `_PUBLISH_MANY` in that round trip,
  as `write_pending` does, from the variables events (one event as JSON: `bench_events()`
  makes it) and keys (its aggregate lock key, as JSON).
A transaction's BEGIN travels with its first statement: a mirror writes that pipeline out.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

_DIRECTIVE = re.compile(r"^@([\w.]+):(\w+)((?:\s+\S+)*)\s*$")
_NAMED = re.compile(r"%\((\w+)\)s")


def statement(module: str, name: str, args: list[str]) -> str:
    sql = getattr(importlib.import_module(module), name)
    renames = dict(a.split("=", 1) for a in args if "=" in a)
    positional = iter(a for a in args if "=" not in a)

    def named(found: re.Match[str]) -> str:
        target = renames.get(found[1], found[1])
        return "NULL" if target == "NULL" else ":" + target

    sql = _NAMED.sub(named, sql)
    try:
        sql = re.sub(r"%s", lambda _: ":" + next(positional), sql)
    except StopIteration:
        raise ValueError(f"{module}.{name} has more %s than names given: {args}") from None
    return sql.replace("%%", "%").strip() + ";"


# The runner's helpers in the scratch database. bench_uuid7(): a time-ordered id, standing in for
# the app's UUIDv7. bench_events(): what write_pending sends for one event, its deliveries to
# `subscribers` subscribers no build has (bench.raw.0, ...), so the servers' relays leave them
# alone and the runner deletes them after each run. bench_order_id(n): the pay mirror's orders.
FUNCTIONS = """
CREATE FUNCTION public.bench_uuid7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
            || '7' || substr(md5(random()::text), 1, 19))::uuid $$;
CREATE FUNCTION public.bench_events(type text, aggregate_id uuid, payload text,
                                    traceparent text, subscribers integer)
RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT jsonb_build_array(jsonb_build_object(
        'n', 0, 'id', bench_uuid7(), 'type', type, 'aggregate_id', aggregate_id,
        'payload', payload::jsonb, 'traceparent', traceparent, 'occurred_at', now(),
        'deliveries', coalesce((SELECT jsonb_agg(jsonb_build_object(
            'id', bench_uuid7(), 'subscriber', 'bench.raw.' || i))
            FROM generate_series(0, subscribers - 1) AS i), '[]'::jsonb)))::text $$;
CREATE FUNCTION public.bench_order_id(n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid $$"""


def _wrapper() -> dict[str, list[str]]:
    """The kernel's idempotent transaction, as Idempotency.handle runs it: one pipeline (one
    round trip) that begins, tries the key's lock, looks for a record and sets the savepoint;
    the slice's statements; a second pipeline that writes the events, stores the outcome and
    commits (the savepoint is never released). And Database.transaction's commit: the
    events and COMMIT in one pipeline."""
    idempotency = "shared.http.idempotency"
    events = [statement("shared.db.events", "_PUBLISH_MANY", [])]
    save = statement(idempotency, "_SAVE", [
        "caller", "idem_key", "endpoint", "fingerprint", "answer_status", "headers", "body"])
    return {
        "@@begin-idempotent": [
            "\\startpipeline", "BEGIN;", statement(idempotency, "_LOCK", ["r"]),
            statement(idempotency, "_FIND", ["caller", "idem_key"]), "SAVEPOINT effect;",
            "\\endpipeline"],
        "@@end-idempotent": ["\\startpipeline", save, "COMMIT;", "\\endpipeline"],
        "@@end-idempotent publishing": [
            "\\startpipeline", *events, save, "COMMIT;", "\\endpipeline"],
        "@@commit": ["COMMIT;"],
        "@@commit publishing": ["\\startpipeline", *events, "COMMIT;", "\\endpipeline"],
    }


def render(script: Path) -> str:
    lines: list[str] = []
    wrapper = _wrapper()
    for number, line in enumerate(script.read_text().splitlines(), 1):
        if line.strip() in wrapper:
            lines += wrapper[line.strip()]
            continue
        found = _DIRECTIVE.match(line)
        if not found:
            lines.append(line)
            continue
        try:
            lines.append(statement(found[1], found[2], found[3].split()))
        except (ImportError, AttributeError, ValueError) as exc:
            raise RuntimeError(f"{script.name}:{number}: {exc}") from None
    return "\n".join(lines) + "\n"
