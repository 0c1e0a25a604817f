"""Every migration goes up, all the way down, and up again, on a real PostgreSQL."""

from __future__ import annotations

import threading

import psycopg
import pytest
from uuid_utils.compat import uuid7

from shared.db import migrations
from tests.fixtures import with_database


@pytest.fixture
def empty_database(pg_server_url):
    name = f"rampart_mig_{uuid7().hex}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield with_database(pg_server_url, name)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def schemas(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT table_schema || '.' || table_name"
                            " FROM information_schema.tables"
                            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                            " AND table_name <> 'rampart_migrations'").fetchall()
    return {r[0] for r in rows}


def test_up_down_up(empty_database) -> None:
    every = [m.label for m in migrations.discover()]
    assert migrations.up(empty_database) == every
    built = schemas(empty_database)
    assert {"identity.users", "kernel.outbox_events"} <= built
    assert migrations.up(empty_database) == []  # idempotent
    assert migrations.down(empty_database, len(every)) == list(reversed(every))
    assert schemas(empty_database) == set()
    assert migrations.up(empty_database) == every
    assert schemas(empty_database) == built
    assert all(applied for _, applied in migrations.status(empty_database))


def test_down_one_step_at_a_time(empty_database) -> None:
    migrations.up(empty_database)
    latest = migrations.discover()[-1]
    assert migrations.down(empty_database) == [latest.label]
    assert dict(migrations.status(empty_database))[latest.label] is False


def test_two_runners_at_once_apply_each_migration_once(empty_database) -> None:
    results: list[list[str]] = []
    runners = [threading.Thread(target=lambda: results.append(migrations.up(empty_database)))
               for _ in range(2)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    every = [m.label for m in migrations.discover()]
    assert sorted(results, key=len) == [[], every]


def test_files_pair_up_and_number_uniquely(tmp_path) -> None:
    (tmp_path / "0001_a.up.sql").write_text("SELECT 1")
    with pytest.raises(ValueError, match="no matching"):
        migrations.discover(tmp_path)
    (tmp_path / "0001_a.down.sql").write_text("SELECT 1")
    (tmp_path / "0001_b.up.sql").write_text("SELECT 1")
    (tmp_path / "0001_b.down.sql").write_text("SELECT 1")
    with pytest.raises(ValueError, match="share a version"):
        migrations.discover(tmp_path)


def test_a_failing_migration_leaves_nothing_half_applied(empty_database, tmp_path) -> None:
    (tmp_path / "0001_ok.up.sql").write_text("CREATE TABLE ok (id int)")
    (tmp_path / "0001_ok.down.sql").write_text("DROP TABLE ok")
    (tmp_path / "0002_bad.up.sql").write_text("CREATE TABLE half (id int); SELECT 1/0")
    (tmp_path / "0002_bad.down.sql").write_text("DROP TABLE half")
    with pytest.raises(psycopg.errors.DivisionByZero):
        migrations.up(empty_database, tmp_path)
    assert schemas(empty_database) == {"public.ok"}
    assert [a for _, a in migrations.status(empty_database, tmp_path)] == [True, False]
