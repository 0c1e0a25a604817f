"""Plain-SQL migrations: `migrations/NNNN_name.up.sql` with a matching `.down.sql`.

Each migration runs in its own transaction and is recorded in `public.rampart_migrations`.
A session-level advisory lock serialises runners, so two processes starting at once never
both apply a migration: the second waits, then finds nothing left to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.up\.sql$")
_LOCK_KEY = 0x52414D50  # "RAMP": any fixed bigint works, it only has to be the same everywhere

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS public.rampart_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up: Path
    down: Path

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.up.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise ValueError(f"migration file name not understood: {path.name}")
        down = path.with_name(path.name.replace(".up.sql", ".down.sql"))
        if not down.exists():
            raise ValueError(f"{path.name} has no matching {down.name}")
        found.append(Migration(int(match[1]), match[2], path, down))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError("two migrations share a version number")
    return found


def latest_version(directory: Path = MIGRATIONS_DIR) -> int:
    migrations = discover(directory)
    return migrations[-1].version if migrations else 0


def _connect(url: str) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    conn.execute(_BOOKKEEPING)
    return conn


def _applied(conn: psycopg.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT version FROM public.rampart_migrations ORDER BY 1")]


def up(url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration in order; return the labels applied."""
    done = []
    with _connect(url) as conn:
        applied = set(_applied(conn))
        for migration in discover(directory):
            if migration.version in applied:
                continue
            with conn.transaction():
                conn.execute(migration.up.read_text())
                conn.execute(
                    "INSERT INTO public.rampart_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name))
            done.append(migration.label)
    return done


def down(url: str, steps: int = 1, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Revert the last `steps` applied migrations, newest first; return the labels reverted."""
    by_version = {m.version: m for m in discover(directory)}
    done = []
    with _connect(url) as conn:
        for version in reversed(_applied(conn)[-steps:] if steps > 0 else []):
            migration = by_version.get(version)
            if migration is None:
                raise ValueError(f"migration {version:04d} is applied but its files are missing")
            with conn.transaction():
                conn.execute(migration.down.read_text())
                conn.execute("DELETE FROM public.rampart_migrations WHERE version = %s", (version,))
            done.append(migration.label)
    return done


def status(url: str, directory: Path = MIGRATIONS_DIR) -> list[tuple[str, bool]]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_BOOKKEEPING)
        applied = set(_applied(conn))
    return [(m.label, m.version in applied) for m in discover(directory)]
