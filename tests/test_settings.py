"""Configuration is validated at start-up: a bad value stops the process, naming it."""

from __future__ import annotations

import pytest

from shared.auth.tokens import generate_secret_paserk
from shared.settings import Rate, SettingsError, load_settings


def test_defaults_are_development() -> None:
    settings = load_settings({})
    assert settings.app_env == "development" and settings.port == 8000
    assert settings.rate_limit_anon == Rate(60, 60)
    assert settings.rate_limit_login == Rate(5, 900)


@pytest.mark.parametrize(("text", "rate"), [("60/minute", Rate(60, 60)),
                                            ("5/15minutes", Rate(5, 900)),
                                            ("10 / 2 hours", Rate(10, 7200)),
                                            ("1/second", Rate(1, 1))])
def test_rates_parse(text, rate) -> None:
    assert load_settings({"RATE_LIMIT_USER": text}).rate_limit_user == rate


@pytest.mark.parametrize(("env", "named"), [
    ({"PORT": "abc"}, "PORT"), ({"PORT": "70000"}, "PORT"), ({"WORKERS": "0"}, "WORKERS"),
    ({"APP_ENV": "staging"}, "APP_ENV"), ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ({"RATE_LIMIT_ANON": "lots"}, "RATE_LIMIT_ANON"), ({"RATE_LIMIT_LOGIN": "0/minute"},
                                                       "RATE_LIMIT_LOGIN"),
    ({"RELAY_ENABLED": "maybe"}, "RELAY_ENABLED"), ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ({"TOKEN_SIGNING_KEY": "k4.local.abc"}, "TOKEN_SIGNING_KEY"),
])
def test_invalid_values_are_named(env, named) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert named in str(caught.value)
    assert "\n" not in str(caught.value)


def test_production_requires_explicit_secrets_and_database() -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings({"APP_ENV": "production", "TOKEN_SIGNING_KEY": generate_secret_paserk()})
    with pytest.raises(SettingsError, match="TOKEN_SIGNING_KEY"):
        load_settings({"APP_ENV": "production", "DATABASE_URL": "postgresql://db/rampart"})
    with pytest.raises(SettingsError, match="TOKEN_SIGNING_KEY"):
        load_settings({"APP_ENV": "production", "DATABASE_URL": "postgresql://db/rampart",
                       "TOKEN_SIGNING_KEY": "changeme"})
    ok = load_settings({"APP_ENV": "production", "DATABASE_URL": "postgresql://db/rampart",
                        "TOKEN_SIGNING_KEY": generate_secret_paserk()})
    assert ok.is_production


def test_the_cli_refuses_to_start_with_one_clear_line(monkeypatch) -> None:
    from click.testing import CliRunner

    from shared.cli import main

    monkeypatch.setenv("PORT", "eighty")
    result = CliRunner().invoke(main, ["migrate", "status"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "rampart: configuration error: PORT='eighty' must be a whole number from 1 to 65535"]
