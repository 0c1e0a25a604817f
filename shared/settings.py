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
    # Failed logins from one client address, whatever e-mails it tries (password spraying).
    rate_limit_login_address: Rate = Rate(50, 900)
    relay_enabled: bool = True
    outbox_max_attempts: int = 10
    # The relay: how long a claim is held before another relay may take it over, how often it
    # polls when no NOTIFY wakes it, retry delays (exponential with jitter, capped), and how
    # long done deliveries are kept before housekeeping deletes them.
    outbox_lease_seconds: int = 30
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
    # Operational exposure (README, "Production exposure"): the interactive docs and the
    # OpenAPI document are served unless turned off; /metrics asks for this bearer token when
    # it is set, and production refuses to serve it open.
    docs_enabled: bool | None = None
    metrics_token: str | None = None

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def serves_docs(self) -> bool:
        """The interactive docs and /schema/openapi.json: on in development, off in
        production unless DOCS_ENABLED says otherwise."""
        return not self.is_production if self.docs_enabled is None else self.docs_enabled


# Each integer setting with the bounds it really has: the error names them.
_INT_BOUNDS: dict[str, tuple[int, int]] = {
    "port": (1, 65535), "workers": (1, 64), "access_token_ttl": (60, 86400),
    "refresh_token_ttl": (60, 365 * 86400), "outbox_max_attempts": (1, 1000),
    "db_pool_min": (1, 1000), "db_pool_max": (1, 1000), "outbox_lease_seconds": (1, 86400),
    "outbox_poll_ms": (1, 3_600_000), "outbox_backoff_base_ms": (1, 86_400_000),
    "outbox_backoff_max_ms": (1, 86_400_000), "outbox_batch_size": (1, 100_000),
    "outbox_concurrency": (1, 1000), "outbox_retention_hours": (0, 100_000),
    "worker_metrics_port": (0, 65535),
}
_BOOL_FIELDS = {"relay_enabled", "trusted_proxies", "docs_enabled"}
_RATE_FIELDS = {"rate_limit_anon", "rate_limit_user", "rate_limit_admin", "rate_limit_login",
                "rate_limit_login_address"}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for field in msgspec.structs.fields(Settings):
        name = field.name.upper()
        if name not in env:
            continue
        value = env[name]
        if field.name in _INT_BOUNDS:
            low, high = _INT_BOUNDS[field.name]
            number = _integer(value)
            if number is None or not low <= number <= high:
                raise SettingsError(f"{name}={value!r} must be a whole number from {low} "
                                    f"to {high}")
            raw[field.name] = number
        elif field.name == "log_level":
            if value.strip().upper() not in LOG_LEVELS:
                raise SettingsError(f"{name}={value!r} must be one of {', '.join(LOG_LEVELS)} "
                                    "(any case)")
            raw[field.name] = value.strip().upper()
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


def _integer(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _check(settings: Settings) -> Settings:
    for name, (low, high) in _INT_BOUNDS.items():  # defaults and programmatic values too
        if not low <= getattr(settings, name) <= high:
            raise SettingsError(f"{name.upper()}={getattr(settings, name)} must be a whole "
                                f"number from {low} to {high}")
    if settings.db_pool_max < settings.db_pool_min:
        raise SettingsError("DB_POOL_MAX must be >= DB_POOL_MIN")
    if settings.outbox_backoff_max_ms < settings.outbox_backoff_base_ms:
        raise SettingsError("OUTBOX_BACKOFF_MAX_MS must be >= OUTBOX_BACKOFF_BASE_MS")
    if settings.database_url is not None and not settings.database_url.startswith(
        ("postgresql://", "postgres://")
    ):
        raise SettingsError("DATABASE_URL must start with postgresql://")
    if settings.is_production:
        if not settings.database_url:
            raise SettingsError("DATABASE_URL is required when APP_ENV=production")
        key = settings.token_signing_key
        if key is None:
            raise SettingsError("TOKEN_SIGNING_KEY is required when APP_ENV=production "
                                "(a PASERK k4.secret; `rampart keys generate` prints one)")
        if key.strip().lower() in PLACEHOLDERS:
            raise SettingsError(f"TOKEN_SIGNING_KEY={key.strip()!r} is a placeholder, refused "
                                "when APP_ENV=production (`rampart keys generate` prints a "
                                "real one)")
        token = settings.metrics_token
        if token is not None and token.strip().lower() in PLACEHOLDERS:
            raise SettingsError("METRICS_TOKEN is a placeholder, refused when "
                                "APP_ENV=production")
    if settings.token_signing_key is not None:
        _check_signing_key(settings.token_signing_key)
    if settings.metrics_token is not None and not settings.metrics_token.strip():
        raise SettingsError("METRICS_TOKEN is empty: unset it to serve /metrics without one")
    return settings


def _check_signing_key(key: str) -> None:
    """A key that would only fail when the first token is signed fails here. The value is a
    secret: the message never repeats it."""
    if not key.startswith("k4.secret."):
        raise SettingsError("TOKEN_SIGNING_KEY must be a PASERK k4.secret key "
                            "(`rampart keys generate` prints one)")
    from pyseto import Key

    try:
        Key.from_paserk(key)
    except Exception as exc:  # pyseto raises ValueError and binascii errors alike
        raise SettingsError("TOKEN_SIGNING_KEY is not a valid PASERK k4.secret key "
                            f"({type(exc).__name__}); `rampart keys generate` prints one"
                            ) from None
