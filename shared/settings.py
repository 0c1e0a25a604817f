"""Settings: read from the environment once, validated, refused loudly when wrong.

`load_settings()` raises `SettingsError` with one line naming the bad variable; the CLI prints
that line and exits 2. Development mode may generate its own token signing key under `.data/`;
production requires every secret explicitly and refuses placeholders.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

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


class OidcProvider(msgspec.Struct, frozen=True):
    """One OpenID Connect provider, from `OIDC_<NAME>_ISSUER`, `_CLIENT_ID`, `_CLIENT_SECRET`
    and `_REDIRECT_URIS` (space or comma separated), for each name in `OIDC_PROVIDERS`."""

    name: str
    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


@dataclass(frozen=True)
class SmtpServer:
    """Where notifications are mailed, from `SMTP_URL`: `smtp://user:pass@host:port`,
    `smtps://` for TLS from the first byte, `?starttls=true` to upgrade a plain connection.

    The password is kept out of `repr()`, and no error about the URL quotes it.
    """

    host: str
    port: int
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    implicit_tls: bool = False
    starttls: bool = False

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        # Messages name the variable and what is wrong, never the value: it holds a password.
        try:
            parts = urlsplit(url)
            port = parts.port
            query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        except ValueError:
            raise SettingsError("SMTP_URL is not a URL like smtp://user:pass@host:port") from None
        if parts.scheme not in ("smtp", "smtps"):
            raise SettingsError("SMTP_URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise SettingsError("SMTP_URL must name a host (smtp://user:pass@host:port)")
        if set(query) - {"starttls"} or len(query.get("starttls", [])) > 1 or parts.path not in (
                "", "/"):
            raise SettingsError("SMTP_URL takes no path and no query parameter but ?starttls=")
        starttls = query.get("starttls", ["false"])[0].lower()
        if starttls not in ("true", "false"):
            raise SettingsError("SMTP_URL: ?starttls= must be true or false")
        implicit_tls = parts.scheme == "smtps"
        if implicit_tls and starttls == "true":
            raise SettingsError("SMTP_URL: smtps:// is TLS already; ?starttls=true is for smtp://")
        return cls(host=parts.hostname, port=port or (465 if implicit_tls else 25),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   implicit_tls=implicit_tls, starttls=starttls == "true")

    @property
    def encrypted(self) -> bool:
        return self.implicit_tls or self.starttls


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
    # Deliveries per claim. Under orders at 32 connections on 2 cores, 200 gave 6-8% more
    # orders/s than 100 (fewer claims, commits and statements per delivery), 50 gave 17% less,
    # and 400 or 1,000 no more than 200.
    outbox_batch_size: int = 200
    outbox_concurrency: int = 8
    outbox_retention_hours: int = 168
    # Back-pressure (shared/http/pacing.py): commands that publish wait as long as the oldest
    # claimable delivery has been due beyond the lag, at most max-wait, then run. 0 turns it off.
    outbox_pacing_lag_ms: int = 250
    outbox_pacing_max_wait_ms: int = 2000
    # `rampart worker` serves its Prometheus metrics on HOST at this port; 0 (the default, so
    # that several workers on one host need no configuration) serves none.
    worker_metrics_port: int = 0
    db_pool_min: int = 2
    db_pool_max: int = 16
    # Notifications are also mailed when SMTP_URL is set (see SmtpServer), from MAIL_FROM; one
    # SMTP conversation (connect to QUIT) gets SMTP_TIMEOUT seconds, well inside a relay lease.
    smtp_url: str | None = None
    mail_from: str = "Rampart <no-reply@rampart.localhost>"
    smtp_timeout: int = 10
    trusted_proxies: bool = False
    # The product read cache of each process (shared/cache.py): entries live at most
    # `product_cache_ttl` seconds; 0 entries turns it off. Category counts live at most
    # `category_cache_ttl` seconds.
    product_cache_ttl: int = 60
    product_cache_max_entries: int = 50_000
    product_cache_max_bytes: int = 64 * 1024 * 1024
    category_cache_ttl: int = 300
    # Rate-limit buckets in Redis, shared by every process (unset: in each process). A call
    # slower than `redis_timeout_ms` falls back to the process's own bucket.
    redis_url: str | None = None
    redis_timeout_ms: int = 50
    # How long a process trusts what it looked up about an API key: the bound on how late a
    # revocation made in another process takes effect (the revoking process drops it at once).
    api_key_cache_seconds: int = 30
    oidc_providers: tuple[OidcProvider, ...] = ()
    oidc_timeout_ms: int = 5000  # each call to a provider (discovery, keys, code exchange)
    # Payments: the provider's base URL (unset: the sandbox runs inside the process), the secret
    # its webhooks are signed with, the timeouts of one call, the circuit breaker (opens after
    # this many consecutive failures, for this long), and the recovery sweep (how often, and
    # how old a `processing` payment must be before it asks the provider about it).
    payment_provider_url: str | None = None
    payment_webhook_secret: str | None = None
    payment_connect_timeout_ms: int = 1000
    payment_timeout_ms: int = 5000
    payment_breaker_failures: int = 5
    payment_breaker_reset_seconds: int = 30
    payment_recovery_interval_seconds: int = 10
    payment_recovery_after_seconds: int = 30
    # Operational exposure (README, "Production exposure"): the interactive docs and the
    # OpenAPI document are served unless turned off; /metrics asks for this bearer token when
    # it is set, and production refuses to serve it open.
    docs_enabled: bool | None = None
    metrics_token: str | None = None

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def smtp(self) -> SmtpServer | None:
        return SmtpServer.parse(self.smtp_url) if self.smtp_url else None

    @property
    def serves_docs(self) -> bool:
        """The interactive docs and /schema/openapi.json: on in development, off in
        production unless DOCS_ENABLED says otherwise."""
        return not self.is_production if self.docs_enabled is None else self.docs_enabled


# Each integer setting with the bounds it really has: the error names them.
_INT_BOUNDS: dict[str, tuple[int, int]] = {
    "port": (1, 65535), "workers": (1, 64), "access_token_ttl": (60, 86400),
    "refresh_token_ttl": (60, 365 * 86400), "outbox_max_attempts": (1, 1000),
    "db_pool_min": (1, 1000), "db_pool_max": (2, 1000), "outbox_lease_seconds": (1, 86400),
    "outbox_handler_timeout_seconds": (1, 86400),
    "outbox_poll_ms": (1, 3_600_000), "outbox_backoff_base_ms": (1, 86_400_000),
    "outbox_backoff_max_ms": (1, 86_400_000), "outbox_batch_size": (1, 100_000),
    "outbox_concurrency": (1, 1000), "outbox_retention_hours": (0, 100_000),
    "outbox_pacing_lag_ms": (0, 3_600_000), "outbox_pacing_max_wait_ms": (0, 600_000),
    "worker_metrics_port": (0, 65535), "smtp_timeout": (1, 3600),
    "product_cache_ttl": (1, 86400), "product_cache_max_entries": (0, 10_000_000),
    "product_cache_max_bytes": (0, 2**40), "category_cache_ttl": (1, 86400),
    "redis_timeout_ms": (1, 60_000), "api_key_cache_seconds": (0, 86400),
    "oidc_timeout_ms": (1, 600_000), "payment_connect_timeout_ms": (1, 600_000),
    "payment_timeout_ms": (1, 600_000), "payment_breaker_failures": (1, 1000),
    "payment_breaker_reset_seconds": (1, 86400),
    "payment_recovery_interval_seconds": (1, 86400),
    "payment_recovery_after_seconds": (1, 86400),
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
        if field.name == "redis_url" and not value.strip():
            continue  # `REDIS_URL=` (as compose files write "off"): the in-process buckets
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
        elif field.name == "oidc_providers":
            raw[field.name] = _oidc_providers(value, env)
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


_PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def _oidc_providers(names: str, env: os._Environ[str] | dict[str, str]) -> list[OidcProvider]:
    providers = []
    for name in filter(None, re.split(r"[\s,]+", names.strip())):
        if not _PROVIDER_NAME.match(name):
            raise SettingsError(f"OIDC_PROVIDERS: {name!r} must be lower-case letters, digits "
                                "and '-', starting with a letter")
        prefix = "OIDC_" + name.upper().replace("-", "_") + "_"

        def need(key: str, prefix: str = prefix) -> str:
            value = env.get(prefix + key, "").strip()
            if not value:
                raise SettingsError(f"{prefix}{key} is required for each name in OIDC_PROVIDERS")
            return value

        issuer, uris = need("ISSUER"), re.split(r"[\s,]+", need("REDIRECT_URIS"))
        for key, url in [("ISSUER", issuer)] + [("REDIRECT_URIS", u) for u in uris]:
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
                raise SettingsError(f"{prefix}{key}: {url!r} must be an absolute http(s) URL "
                                    "without a fragment")
        providers.append(OidcProvider(name=name, issuer=issuer,
                                      client_id=need("CLIENT_ID"),
                                      client_secret=env.get(prefix + "CLIENT_SECRET", "").strip(),
                                      redirect_uris=tuple(uris)))
    return providers
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
    for name in ("product_cache_ttl", "category_cache_ttl", "redis_timeout_ms"):
        if getattr(settings, name) < 1:
            raise SettingsError(f"{name.upper()} must be at least 1")
    if settings.redis_url is not None and not settings.redis_url.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        raise SettingsError("REDIS_URL must start with redis://, rediss:// or unix://")
    if settings.oidc_timeout_ms < 1:
        raise SettingsError("OIDC_TIMEOUT_MS must be at least 1")
    smtp = settings.smtp  # parsed here so that a bad SMTP_URL stops the process at start-up
    if smtp is not None and smtp.password and not smtp.encrypted and settings.is_production:
        raise SettingsError("SMTP_URL: a password is sent only over TLS when APP_ENV=production "
                            "(smtps:// or ?starttls=true)")
    if settings.smtp_timeout < 1:
        raise SettingsError("SMTP_TIMEOUT must be at least 1")
    # Only where mail is sent: a relay with short leases and no SMTP server is fine.
    if smtp is not None and settings.smtp_timeout >= settings.outbox_handler_timeout_seconds:
        raise SettingsError("SMTP_TIMEOUT must be less than OUTBOX_HANDLER_TIMEOUT_SECONDS when "
                            "SMTP_URL is set (a mail is sent within one handler's time)")
    _, address = parseaddr(settings.mail_from)
    if ("@" not in address or address.startswith("@") or address.endswith("@")
            or not settings.mail_from.isprintable()):
        raise SettingsError("MAIL_FROM must be an address like 'Rampart <no-reply@example.com>'")
    if settings.access_token_ttl < 60:
        raise SettingsError("ACCESS_TOKEN_TTL must be at least 60 seconds")
    if settings.database_url is not None and not settings.database_url.startswith(
        ("postgresql://", "postgres://")
    ):
        raise SettingsError("DATABASE_URL must start with postgresql://")
    _check_payments(settings)
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
        for provider in settings.oidc_providers:
            if not provider.issuer.startswith("https://"):
                raise SettingsError(f"OIDC_{provider.name.upper().replace('-', '_')}_ISSUER "
                                    "must be https when APP_ENV=production")
    if settings.token_signing_key is not None:
        _check_signing_key(settings.token_signing_key)
    if settings.metrics_token is not None and not settings.metrics_token.strip():
        raise SettingsError("METRICS_TOKEN is empty: unset it to serve /metrics without one")
    return settings


def _check_payments(settings: Settings) -> None:
    url = settings.payment_provider_url
    if url is not None and not re.match(r"^https?://[^\s/]+", url):
        raise SettingsError("PAYMENT_PROVIDER_URL must be an http:// or https:// URL")
    for name in ("payment_connect_timeout_ms", "payment_timeout_ms", "payment_breaker_failures",
                 "payment_breaker_reset_seconds", "payment_recovery_interval_seconds",
                 "payment_recovery_after_seconds"):
        if getattr(settings, name) < 1:
            raise SettingsError(f"{name.upper()} must be at least 1")
    if settings.payment_connect_timeout_ms > settings.payment_timeout_ms:
        raise SettingsError("PAYMENT_CONNECT_TIMEOUT_MS must be <= PAYMENT_TIMEOUT_MS")
    # The sweep asks about a payment only once no call for it can still be on its way.
    if settings.payment_recovery_after_seconds * 1000 <= settings.payment_timeout_ms:
        raise SettingsError("PAYMENT_RECOVERY_AFTER_SECONDS must be longer than "
                            "PAYMENT_TIMEOUT_MS")
    secret = settings.payment_webhook_secret
    if secret is not None and (secret.strip().lower() in PLACEHOLDERS or len(secret) < 16):
        raise SettingsError("PAYMENT_WEBHOOK_SECRET must be at least 16 characters and no "
                            "placeholder")
    if settings.is_production and url is not None and secret is None:
        raise SettingsError("PAYMENT_WEBHOOK_SECRET is required when APP_ENV=production and "
                            "PAYMENT_PROVIDER_URL is set")


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
