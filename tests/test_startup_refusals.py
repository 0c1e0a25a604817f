"""Start-up refusals: each bad setting or unusable dependency stops `rampart` before anything
listens, with one line naming the setting and the cause, and a non-zero exit code (2 for a bad
value, 1 for a dependency that cannot be used)."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from shared.cli import main
from shared.settings import load_settings
from tests.fixtures import TEST_SIGNING_KEY, free_port, with_database


def run(args: list[str], env: dict[str, str]) -> tuple[int, list[str]]:
    base = {"TOKEN_SIGNING_KEY": TEST_SIGNING_KEY, "LOG_LEVEL": "WARNING"}
    result = CliRunner().invoke(main, args, env={**base, **env})
    return result.exit_code, result.output.strip().splitlines()


@pytest.mark.parametrize(("env", "line"), [
    ({"WORKERS": "abc"}, "WORKERS='abc' must be a whole number from 1 to 64"),
    ({"ACCESS_TOKEN_TTL": "-5"}, "ACCESS_TOKEN_TTL='-5' must be a whole number from 60 to 86400"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='loud' must be one of DEBUG, INFO, WARNING, ERROR"),
    ({"TOKEN_SIGNING_KEY": "k4.secret.garbage"}, "TOKEN_SIGNING_KEY is not a valid PASERK"),
    ({"APP_ENV": "production", "DATABASE_URL": "postgresql://db/x",
      "TOKEN_SIGNING_KEY": "changeme"}, "TOKEN_SIGNING_KEY='changeme' is a placeholder"),
    ({"APP_ENV": "production", "DATABASE_URL": "postgresql://db/x", "METRICS_TOKEN": "changeme"},
     "METRICS_TOKEN is a placeholder"),
])
def test_a_bad_setting_is_one_line_and_exit_2(env, line) -> None:
    code, output = run(["serve"], env)
    assert code == 2
    assert len(output) == 1 and output[0].startswith(f"rampart: configuration error: {line}")
    assert "garbage" not in output[0]  # a key is a secret, even a broken one


def test_log_level_takes_any_case() -> None:
    assert load_settings({"LOG_LEVEL": "info"}).log_level == "INFO"
    assert load_settings({"LOG_LEVEL": "Debug"}).log_level == "DEBUG"


def test_an_unreachable_database_is_one_line_before_anything_listens() -> None:
    port = free_port()
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/rampart"
    for args in (["serve", "--port", str(port)], ["migrate", "up"]):
        code, output = run(args, {"DATABASE_URL": nowhere})
        assert code == 1
        assert len(output) == 1 and output[0].startswith("rampart: DATABASE_URL: cannot use")
        assert "Connection refused" in output[0]
    with socket.socket() as probe:  # nothing was left listening
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_an_unknown_database_is_one_line(pg_server_url) -> None:
    code, output = run(["migrate", "up"], {
        "DATABASE_URL": with_database(pg_server_url, "no_such_database")})
    assert code == 1
    assert len(output) == 1 and 'database "no_such_database" does not exist' in output[0]


def test_a_busy_port_is_one_line_naming_it(database_url) -> None:
    with socket.socket() as taken:
        # As granian binds: with port reuse, which would let a second server share the port.
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = run(["serve", "--port", str(port)], {"DATABASE_URL": database_url})
    assert code == 1
    assert output == [f"rampart: PORT={port}: cannot listen on 127.0.0.1:{port} (Address "
                      "already in use); is another server running there?"]
