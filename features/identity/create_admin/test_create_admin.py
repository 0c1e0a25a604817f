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


def test_an_existing_email_is_refused(cli) -> None:
    args = ("users", "create-admin", "--email", "root@example.com", "--password", "pw-123456")
    assert cli(*args).exit_code == 0
    again = cli(*args[:3], "ROOT@example.com", *args[4:])
    assert again.exit_code == 1 and "already exists" in again.output


@pytest.mark.parametrize(("email", "password"), [("root@example.com", "short"),
                                                 ("not-an-email", "long enough 1"),
                                                 ("root@example.com", "x" * 129)])
def test_invalid_input_is_refused_before_touching_the_database(cli, email, password) -> None:
    result = cli("users", "create-admin", "--email", email, "--password", password)
    assert result.exit_code == 1 and "Error" in result.output


@pytest.fixture
def db_conn_sync(database_url):
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn
