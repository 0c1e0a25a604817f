"""Configuration is validated at start-up: a bad value stops the process, naming it."""

from __future__ import annotations

import pytest

from shared.auth.tokens import generate_secret_paserk
from shared.settings import Rate, SettingsError, SmtpServer, load_settings


def test_defaults_are_development() -> None:
    settings = load_settings({})
    assert settings.app_env == "development" and settings.port == 8000
    assert settings.rate_limit_anon == Rate(60, 60)
    assert settings.rate_limit_login == Rate(5, 900)
    assert settings.redis_url is None  # the in-process buckets: nothing else to run
    assert (settings.product_cache_ttl, settings.category_cache_ttl) == (60, 300)


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
    ({"REDIS_URL": "http://cache:6379"}, "REDIS_URL"), ({"REDIS_TIMEOUT_MS": "0"},
                                                        "REDIS_TIMEOUT_MS"),
    ({"REDIS_TIMEOUT_MS": "fast"}, "REDIS_TIMEOUT_MS"), ({"PRODUCT_CACHE_TTL": "0"},
                                                         "PRODUCT_CACHE_TTL"),
    ({"CATEGORY_CACHE_TTL": "-5"}, "CATEGORY_CACHE_TTL"),
    ({"PRODUCT_CACHE_MAX_ENTRIES": "many"}, "PRODUCT_CACHE_MAX_ENTRIES"),
    # A payment holds two connections at once: a pool of one could never pay.
    ({"DB_POOL_MAX": "1", "DB_POOL_MIN": "1"}, "DB_POOL_MAX"),
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


@pytest.mark.parametrize(("url", "server"), [
    ("smtp://mailpit:1025", SmtpServer("mailpit", 1025)),
    ("smtp://u%40x:p%2Fw@mail.example?starttls=true",
     SmtpServer("mail.example", 25, "u@x", "p/w", starttls=True)),
    ("smtps://u:p@mail.example", SmtpServer("mail.example", 465, "u", "p", implicit_tls=True)),
    ("smtp://[::1]:2525?starttls=false", SmtpServer("::1", 2525)),
])
def test_smtp_urls_parse(url, server) -> None:
    assert load_settings({"SMTP_URL": url}).smtp == server


@pytest.mark.parametrize("url", [
    "http://u:hunter2@mail.example", "smtp://u:hunter2@", "smtp://u:hunter2@h:99999",
    "smtp://u:hunter2@h:port", "smtp://u:hunter2@h?starttls=maybe", "smtp://u:hunter2@h?tls=1",
    "smtps://u:hunter2@h?starttls=true", "smtp://u:hunter2@h/inbox",
])
def test_a_bad_smtp_url_is_named_and_its_password_is_not(url) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"SMTP_URL": url})
    assert str(caught.value).startswith("SMTP_URL") and "hunter2" not in str(caught.value)


def test_the_smtp_password_stays_out_of_repr() -> None:
    server = load_settings({"SMTP_URL": "smtp://u:hunter2@h"}).smtp
    assert "hunter2" not in repr(server) and server is not None and server.password == "hunter2"


def test_production_sends_an_smtp_password_only_over_tls() -> None:
    env = {"APP_ENV": "production", "DATABASE_URL": "postgresql://db/rampart",
           "TOKEN_SIGNING_KEY": generate_secret_paserk()}
    with pytest.raises(SettingsError, match="SMTP_URL: a password is sent only over TLS"):
        load_settings(env | {"SMTP_URL": "smtp://u:hunter2@mail.example"})
    for url in ("smtps://u:p@mail.example", "smtp://u:p@mail.example?starttls=true",
                "smtp://mailpit:1025"):
        assert load_settings(env | {"SMTP_URL": url}).smtp is not None


@pytest.mark.parametrize(("env", "named"), [
    ({"SMTP_TIMEOUT": "0"}, "SMTP_TIMEOUT"), ({"SMTP_TIMEOUT": "ten"}, "SMTP_TIMEOUT"),
    ({"SMTP_TIMEOUT": "30", "OUTBOX_HANDLER_TIMEOUT_SECONDS": "30", "SMTP_URL": "smtp://h"},
     "SMTP_TIMEOUT"),
    ({"MAIL_FROM": "rampart"}, "MAIL_FROM"), ({"MAIL_FROM": "Rampart <rampart@>"}, "MAIL_FROM"),
    ({"MAIL_FROM": "a@b.example\r\nBcc: eve@example.com"}, "MAIL_FROM"),
])
def test_invalid_mail_settings_are_named(env, named) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


def test_short_leases_need_no_smtp_timeout_when_no_mail_is_sent() -> None:
    assert load_settings({"OUTBOX_LEASE_SECONDS": "1"}).smtp is None
