"""The raw-PostgreSQL mirrors: bench/pgbench/<name>.pgbench.sql, rendered for pgbench.

A line `@module:NAME [args]` becomes the SQL constant NAME of `module`, psycopg placeholders
turned into pgbench variables: `%(x)s` -> `:x` (or `:y` given `x=y`), each `%s` -> the next
plain name in args. The mirrors thus run the very statements the slices and the kernel run.
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


def render(script: Path) -> str:
    lines = []
    for number, line in enumerate(script.read_text().splitlines(), 1):
        found = _DIRECTIVE.match(line)
        if not found:
            lines.append(line)
            continue
        try:
            lines.append(statement(found[1], found[2], found[3].split()))
        except (ImportError, AttributeError, ValueError) as exc:
            raise RuntimeError(f"{script.name}:{number}: {exc}") from None
    return "\n".join(lines) + "\n"
