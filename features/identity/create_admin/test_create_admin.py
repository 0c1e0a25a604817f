"""create_admin: `rampart users create-admin` (the CLI is the only way to make an admin)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from shared.cli import main


@pytest.fixture
def cli(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def test_creates_an_admin_who_can_log_in(cli, db_conn_sync) -> None:
    result = cli("users", "create-admin", "--email", "root@example.com",
                 "--password", "admin password 1")
    assert result.exit_code == 0, result.output
    row = db_conn_sync.execute(
        "SELECT role FROM identity.users WHERE email = 'root@example.com'").fetchone()
    assert row == ("admin",)


def test_the_admin_is_announced_like_any_registration(cli, db_conn_sync) -> None:
    """UserRegistered, committed with the insert (register_user's create_user does both), is
    how other modules learn of the admin: notifications welcomes them like anyone else."""
    result = cli("users", "create-admin", "--email", "root@example.com",
                 "--password", "admin password 1", "--name", "Root")
    assert result.exit_code == 0, result.output
    [(user_id,)] = db_conn_sync.execute("SELECT id FROM identity.users").fetchall()
    assert published(db_conn_sync) == [
        ("UserRegistered", user_id, {"user_id": str(user_id), "email": "root@example.com",
                                     "name": "Root"})]


def test_an_existing_email_is_refused(cli, db_conn_sync) -> None:
    args = ("users", "create-admin", "--email", "root@example.com", "--password", "pw-123456")
    assert cli(*args).exit_code == 0
    before = published(db_conn_sync)
    again = cli(*args[:3], "ROOT@example.com", *args[4:])
    assert again.exit_code == 1 and "already exists" in again.output
    assert published(db_conn_sync) == before and len(before) == 1  # announced once, not twice
    assert db_conn_sync.execute("SELECT count(*) FROM identity.users").fetchone() == (1,)


@pytest.mark.parametrize(("email", "password"), [("root@example.com", "short"),
                                                 ("not-an-email", "long enough 1"),
                                                 ("root@example.com", "x" * 129)])
def test_invalid_input_is_refused_before_touching_the_database(cli, email, password) -> None:
    result = cli("users", "create-admin", "--email", email, "--password", password)
    assert result.exit_code == 1 and "Error" in result.output


def published(conn) -> list[tuple]:
    """Every event in the outbox: (type, aggregate id, payload), in commit order."""
    return conn.execute("SELECT type, aggregate_id, payload FROM kernel.outbox_events"
                        " ORDER BY seq").fetchall()


@pytest.fixture
def db_conn_sync(database_url):
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn
