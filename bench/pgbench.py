"""The raw-PostgreSQL mirrors: bench/pgbench/<name>.pgbench.sql, rendered for pgbench.

A line `@module:NAME [args]` becomes the SQL constant NAME of `module`, psycopg placeholders
turned into pgbench variables: `%(x)s` -> `:x` (or `:y` given `x=y`), each `%s` -> the next
plain name in args. The mirrors thus run the very statements the slices and the kernel run.
`@@begin-idempotent` and `@@end-idempotent` stand for what shared/http/idempotency.py wraps
around every idempotent command, here once for every mirror; they read the variables r (the
lock id), caller, idem_key, endpoint, fingerprint, answer_status, headers and body.
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
    sql = _NAMED.sub(lambda m: ":" + renames.get(m[1], m[1]), sql)
    try:
        sql = re.sub(r"%s", lambda _: ":" + next(positional), sql)
    except StopIteration:
        raise ValueError(f"{module}.{name} has more %s than names given: {args}") from None
    return sql.replace("%%", "%").strip() + ";"


def _wrapper() -> dict[str, list[str]]:
    """The kernel's idempotent transaction, as Idempotency.handle runs it: try the key's lock,
    look for a record, run the slice in a savepoint (psycopg's name for it), store, commit."""
    idempotency = "shared.http.idempotency"
    return {
        "@@begin-idempotent": [
            "BEGIN;", "SELECT pg_try_advisory_xact_lock(:r) AS locked;",
            statement(idempotency, "_FIND", ["caller", "idem_key"]), 'SAVEPOINT "_pg3_1";'],
        "@@end-idempotent": [
            'RELEASE SAVEPOINT "_pg3_1";', statement(idempotency, "_SAVE", [
                "caller", "idem_key", "endpoint", "fingerprint", "answer_status", "headers",
                "body"]), "COMMIT;"],
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
