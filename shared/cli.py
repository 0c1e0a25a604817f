"""The `rampart` command: serve, worker, migrate, keys, plus the commands modules contribute.

Every command runs against the same database the server uses: DATABASE_URL, or when it is
unset the embedded PostgreSQL under .data/postgres (started on demand, shared if running).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
from collections.abc import Coroutine
from functools import cached_property
from typing import Any, NoReturn

import click

from shared.settings import DATA_DIR, Settings, SettingsError, load_settings


class Context:
    def __init__(self) -> None:
        try:
            self.settings: Settings = load_settings()
        except SettingsError as exc:
            click.echo(f"rampart: configuration error: {exc}", err=True)
            sys.exit(2)

    @cached_property
    def database_url(self) -> str:
        """The database every command uses, checked once: an unreachable or unknown database
        stops the command with one line, not a traceback from deep inside the first query."""
        if self.settings.database_url:
            url = self.settings.database_url
            _require_database(url)
            return url
        from shared.db.embedded import start_embedded

        return start_embedded(DATA_DIR / "postgres")

    # click.pass_obj hands commands this object; modules' commands read ["database_url"].
    def __getitem__(self, key: str) -> str:
        return getattr(self, key)


def refuse(message: str, code: int = 1) -> NoReturn:
    """Stop before anything listens, with one line on stderr."""
    click.echo(f"rampart: {message}", err=True)
    sys.exit(code)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _require_database(url: str) -> None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:  # the message names host, port and database, never a password
        refuse(f"DATABASE_URL: cannot use the database: {_one_line(exc)}")


def _require_free_port(host: str, port: int) -> None:
    """granian binds with SO_REUSEPORT, so a second server on a busy port would start and
    share the traffic: a plain bind fails where anything already listens."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        refuse(f"HOST={host!r}: cannot resolve it ({exc.strerror})", 2)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            refuse(f"PORT={port}: cannot listen on {host}:{port} ({exc.strerror}); is another "
                   "server running there?")


def _clear_stale_metrics() -> None:
    """Metrics folders of `rampart serve` processes that no longer run (killed outright)."""
    for folder in DATA_DIR.glob("prometheus-*"):
        pid = folder.name.removeprefix("prometheus-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _WithModuleCommands(click.Group):
    """The kernel's commands, plus those the module manifests contribute (`users ...`).

    Modules are imported only when one of their commands is asked for: `rampart serve` must
    set up the environment (PROMETHEUS_MULTIPROC_DIR) before any metric exists in the parent
    that granian forks its workers from.
    """

    def _module_commands(self) -> dict[str, click.Command]:
        from shared.modules import discover

        return {c.name: c for m in discover() for c in m.commands if c.name}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._module_commands()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self._module_commands().get(name)


def run_async(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop where it is installed (granian's workers pick it too), else asyncio."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


@click.group(cls=_WithModuleCommands, help="Rampart: an order-processing backend.")
@click.pass_context
def main(ctx: click.Context) -> None:
    ctx.obj = Context()


@main.command(help="Serve the HTTP API with granian (and the outbox relay in each worker).")
@click.option("--host", default=None, help="Default: HOST or 127.0.0.1.")
@click.option("--port", type=int, default=None, help="Default: PORT or 8000.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Default: WORKERS or 1.")
@click.pass_obj
def serve(obj: Context, host: str | None, port: int | None, workers: int | None) -> None:
    settings = obj.settings
    workers = workers or settings.workers
    host, port = host or settings.host, port or settings.port
    _require_free_port(host, port)
    metrics_dir = None
    if workers > 1:  # before anything imports prometheus_client, which reads it once
        _clear_stale_metrics()
        metrics_dir = DATA_DIR / f"prometheus-{os.getpid()}"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)

    from granian import Granian
    from granian.constants import Interfaces

    from shared import early_stop
    from shared.logging import GRANIAN_LOGGING

    try:
        url = obj.database_url  # the parent starts the embedded server; workers inherit the URL
        if not settings.is_production:
            for label in _migrate(url):
                click.echo(f"migrated: {label}", err=True)
        os.environ["DATABASE_URL"] = url
        early_stop.keep_in_workers()  # a worker stopped while it starts must not ignore it
        Granian(
            target="shared.asgi:app", interface=Interfaces.ASGI, address=host, port=port,
            workers=workers, log_access=False, backlog=2048, workers_kill_timeout=30,
            log_dictconfig=GRANIAN_LOGGING,
        ).serve()
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _migrate(url: str) -> list[str]:
    import psycopg

    from shared.db import migrations

    try:
        return migrations.up(url)
    except psycopg.Error as exc:
        refuse(f"DATABASE_URL: migrations failed: {_one_line(exc)}")


@main.command(help="Run only the outbox relay (no HTTP), until SIGTERM.")
@click.pass_obj
def worker(obj: Context) -> None:
    from shared.db.pool import Database
    from shared.db.relay import Relay
    from shared.logging import configure_logging
    from shared.logging.tracing import setup_tracing
    from shared.modules import discover

    configure_logging(obj.settings.log_level)
    setup_tracing("rampart-worker")
    modules = discover()
    subscriptions = [s for m in modules for s in m.subscriptions]

    port = obj.settings.worker_metrics_port
    if port:  # the relay's outbox metrics, for Prometheus
        from prometheus_client import start_http_server

        try:
            start_http_server(port, addr=obj.settings.host)
        except OSError as exc:
            raise click.ClickException(f"cannot serve metrics on {obj.settings.host}:{port} "
                                       f"({exc.strerror}); set WORKER_METRICS_PORT to a free "
                                       "port, or 0 for none") from None

    async def run() -> None:
        db = Database(obj.database_url, min_size=1, max_size=obj.settings.db_pool_max)
        await db.open()
        relay = Relay(db, subscriptions, obj.settings, [p for m in modules for p in m.periodic])
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await relay.start()
        await stop.wait()
        await relay.stop()
        await db.close()

    from shared.db import events

    events.register(subscriptions)
    run_async(run())


@main.group(help="Apply, revert or inspect database migrations.")
def migrate() -> None:
    pass


@migrate.command("up", help="Apply every pending migration.")
@click.pass_obj
def migrate_up(obj: Context) -> None:
    applied = _migrate(obj.database_url)
    click.echo("\n".join(f"applied {m}" for m in applied) or "already up to date")


@migrate.command("down", help="Revert the last N migrations (default 1).")
@click.argument("steps", type=click.IntRange(min=1), default=1)
@click.pass_obj
def migrate_down(obj: Context, steps: int) -> None:
    from shared.db import migrations

    reverted = migrations.down(obj.database_url, steps)
    click.echo("\n".join(f"reverted {m}" for m in reverted) or "nothing to revert")


@migrate.command("status", help="List migrations and whether each is applied.")
@click.pass_obj
def migrate_status(obj: Context) -> None:
    from shared.db import migrations

    for label, applied in migrations.status(obj.database_url):
        click.echo(f"{'applied' if applied else 'pending'}  {label}")


@main.group(help="Token signing keys.")
def keys() -> None:
    pass


@keys.command("generate", help="Print a new PASERK k4.secret for TOKEN_SIGNING_KEY.")
def keys_generate() -> None:
    from shared.auth.tokens import generate_secret_paserk, public_paserk

    secret = generate_secret_paserk()
    click.echo(f"TOKEN_SIGNING_KEY={secret}")
    click.echo(f"# public key, for TOKEN_VERIFY_KEYS after a rotation: {public_paserk(secret)}",
               err=True)
