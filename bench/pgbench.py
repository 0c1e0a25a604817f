"""The raw-PostgreSQL mirrors: bench/pgbench/<name>.pgbench.sql, rendered for pgbench.

A line `@module:NAME [args]` becomes the SQL constant NAME of `module`, psycopg placeholders
turned into pgbench variables: `%(x)s` -> `:x` (or `:y` given `x=y`; `x=NULL` puts SQL's NULL
there, which a pgbench variable cannot hold), each `%s` -> the next plain name in args. The
mirrors thus run the very statements the slices and the kernel run. `@@begin-idempotent` and
`@@end-idempotent` stand for what shared/http/idempotency.py wraps around every idempotent
command, in its two pipelines, here once for every mirror; they read the variables r (the
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

    def named(found: re.Match[str]) -> str:
        target = renames.get(found[1], found[1])
        return "NULL" if target == "NULL" else ":" + target

    sql = _NAMED.sub(named, sql)
    try:
        sql = re.sub(r"%s", lambda _: ":" + next(positional), sql)
    except StopIteration:
        raise ValueError(f"{module}.{name} has more %s than names given: {args}") from None
    return sql.replace("%%", "%").strip() + ";"


def _wrapper() -> dict[str, list[str]]:
    """The kernel's idempotent transaction, as Idempotency.handle runs it: one pipeline (one
    round trip) that begins, tries the key's lock, looks for a record and sets the savepoint;
    the slice's statements; a second pipeline that stores the outcome and commits (the
    savepoint is never released)."""
    idempotency = "shared.http.idempotency"
    return {
        "@@begin-idempotent": [
            "\\startpipeline", "BEGIN;", statement(idempotency, "_LOCK", ["r"]),
            statement(idempotency, "_FIND", ["caller", "idem_key"]), "SAVEPOINT effect;",
            "\\endpipeline"],
        "@@end-idempotent": [
            "\\startpipeline", statement(idempotency, "_SAVE", [
                "caller", "idem_key", "endpoint", "fingerprint", "answer_status", "headers",
                "body"]), "COMMIT;", "\\endpipeline"],
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
