"""Settings: read from the environment once, validated, refused loudly when wrong.

`load_settings()` raises `SettingsError` with one line naming the bad variable; the CLI prints
that line and exits 2. Development mode may generate its own token signing key under `.data/`;
production requires every secret explicitly and refuses placeholders.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

import msgspec

DATA_DIR = Path(os.environ.get("RAMPART_DATA_DIR", ".data")).resolve()
PLACEHOLDERS = {"", "changeme", "change-me", "secret", "placeholder", "todo", "xxx", "dev"}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


class SettingsError(Exception):
    """A configuration value is missing or invalid; the message names it."""


class Rate(msgspec.Struct, frozen=True):
    """A token-bucket budget: `quota` requests per `window` seconds."""

    quota: int
    window: int

    @classmethod
    def parse(cls, name: str, text: str) -> Rate:
        match = _RATE.match(text)
        if not match or int(match[1]) < 1:
            raise SettingsError(f"{name}={text!r} is not a rate like '60/minute' or '5/15minutes'")
        return cls(quota=int(match[1]), window=int(match[2] or 1) * _UNIT_SECONDS[match[3]])


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    app_env: Literal["development", "production"] = "development"
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # PASERK k4.secret of the Ed25519 key that signs access tokens; `token_key_id` names it in
    # the token footer so keys can rotate. Extra public keys (PASERK k4.public, "kid=key;...")
    # keep verifying tokens signed before a rotation.
    token_signing_key: str | None = None
    token_key_id: str = "k1"
    token_verify_keys: str = ""
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 86400
    rate_limit_anon: Rate = Rate(60, 60)
    rate_limit_user: Rate = Rate(600, 60)
    rate_limit_admin: Rate = Rate(3000, 60)
    rate_limit_login: Rate = Rate(5, 900)
    relay_enabled: bool = True
    outbox_max_attempts: int = 10
    # The relay: how long a claim lasts unless renewed (a live relay renews it every third of
    # that, so a dead relay's claims are taken over this long after it died), how long one
    # handler may run, how often it polls when nothing wakes it, retry delays (exponential
    # with jitter, capped), and how long done deliveries are kept before housekeeping deletes
    # them.
    outbox_lease_seconds: int = 5
    outbox_handler_timeout_seconds: int = 30
    outbox_poll_ms: int = 1000
    outbox_backoff_base_ms: int = 1000
    outbox_backoff_max_ms: int = 600_000
    outbox_batch_size: int = 100
    outbox_concurrency: int = 8
    outbox_retention_hours: int = 168
    # `rampart worker` serves its Prometheus metrics on HOST at this port; 0 (the default, so
    # that several workers on one host need no configuration) serves none.
    worker_metrics_port: int = 0
    db_pool_min: int = 2
    db_pool_max: int = 16
    smtp_url: str | None = None
    trusted_proxies: bool = False

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"


_INT_FIELDS = {"port", "workers", "access_token_ttl", "refresh_token_ttl",
               "outbox_max_attempts", "db_pool_min", "db_pool_max", "outbox_lease_seconds",
               "outbox_handler_timeout_seconds",
               "outbox_poll_ms", "outbox_backoff_base_ms", "outbox_backoff_max_ms",
               "outbox_batch_size", "outbox_concurrency", "outbox_retention_hours",
               "worker_metrics_port"}
_BOOL_FIELDS = {"relay_enabled", "trusted_proxies"}
_RATE_FIELDS = {"rate_limit_anon", "rate_limit_user", "rate_limit_admin", "rate_limit_login"}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for field in msgspec.structs.fields(Settings):
        name = field.name.upper()
        if name not in env:
            continue
        value = env[name]
        if field.name in _INT_FIELDS:
            if not value.strip().isdigit():
                raise SettingsError(f"{name}={value!r} must be a non-negative integer")
            raw[field.name] = int(value)
        elif field.name in _BOOL_FIELDS:
            if value.lower() not in {"1", "0", "true", "false", "yes", "no"}:
                raise SettingsError(f"{name}={value!r} must be true or false")
            raw[field.name] = value.lower() in {"1", "true", "yes"}
        elif field.name in _RATE_FIELDS:
            raw[field.name] = Rate.parse(name, value)
        else:
            raw[field.name] = value
    try:
        settings = msgspec.convert(raw, Settings)
    except msgspec.ValidationError as exc:
        # msgspec says "... at `$.port`": name the environment variable instead.
        path = re.search(r"`\$\.(\w+)`", str(exc))
        name = path[1].upper() if path else "configuration"
        raise SettingsError(f"{name}: {str(exc).split(' - at ')[0]}") from None
    return _check(settings)


def _check(settings: Settings) -> Settings:
    if not 1 <= settings.port <= 65535:
        raise SettingsError(f"PORT={settings.port} must be between 1 and 65535")
    if settings.worker_metrics_port > 65535:
        raise SettingsError(f"WORKER_METRICS_PORT={settings.worker_metrics_port} must be "
                            "between 0 (off) and 65535")
    if settings.workers < 1:
        raise SettingsError("WORKERS must be at least 1")
    if settings.db_pool_min < 1 or settings.db_pool_max < settings.db_pool_min:
        raise SettingsError("DB_POOL_MIN must be >= 1 and DB_POOL_MAX >= DB_POOL_MIN")
    for name in ("outbox_max_attempts", "outbox_lease_seconds", "outbox_handler_timeout_seconds",
                 "outbox_poll_ms", "outbox_backoff_base_ms", "outbox_batch_size",
                 "outbox_concurrency"):
        if getattr(settings, name) < 1:
            raise SettingsError(f"{name.upper()} must be at least 1")
    if settings.outbox_backoff_max_ms < settings.outbox_backoff_base_ms:
        raise SettingsError("OUTBOX_BACKOFF_MAX_MS must be >= OUTBOX_BACKOFF_BASE_MS")
    if settings.access_token_ttl < 60:
        raise SettingsError("ACCESS_TOKEN_TTL must be at least 60 seconds")
    if settings.database_url is not None and not settings.database_url.startswith(
        ("postgresql://", "postgres://")
    ):
        raise SettingsError("DATABASE_URL must start with postgresql://")
    if settings.is_production:
        if not settings.database_url:
            raise SettingsError("DATABASE_URL is required when APP_ENV=production")
        key = settings.token_signing_key
        if key is None or key.strip().lower() in PLACEHOLDERS:
            raise SettingsError("TOKEN_SIGNING_KEY is required when APP_ENV=production "
                                "(a PASERK k4.secret; `rampart keys generate` prints one)")
    if settings.token_signing_key is not None and not settings.token_signing_key.startswith(
        "k4.secret."
    ):
        raise SettingsError("TOKEN_SIGNING_KEY must be a PASERK k4.secret key")
    return settings
