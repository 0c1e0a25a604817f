"""Module manifests and their discovery.

Each `features/<module>/__init__.py` defines `module = Module(...)`: the routes, event
subscriptions, commands and periodic jobs it contributes. The app factory, the relay and the
CLI find them by walking the `features` package, so adding a module or a slice never edits a
central list.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import click
import msgspec

from shared.auth.credentials import AuthenticatorFactory
from shared.db.pool import Database, Tx
from shared.settings import Settings


@dataclass(frozen=True)
class Subscription:
    """`handler(payload, tx)` runs for each `event_type` event, in a transaction that commits
    its effects together with the delivery's acknowledgement (at least once, effect once).

    `payload_type` is the subscriber's own msgspec struct: it decodes only the fields it needs
    (tolerant reader). `name` identifies the subscriber in the outbox: keep it stable.

    `shares_transaction=True` lets the relay run this handler's deliveries in one transaction
    with others (one commit for many). Declare it only for a handler that does nothing but
    short database writes: no calls outside the database (a failing group-mate reruns every
    handler of the group), no long locks, no locks on rows that other handlers lock in another
    order (a deadlock costs the group a second and a rerun, one delivery per transaction). It
    may publish: its events are written with the group's commit, their locks taken in a fixed
    order (shared/db/events.py).

    `handle_many(payloads, tx)`, when given, is the handler for many deliveries at once: the
    relay hands it the deliveries of one claim (at most one per lane, so in no particular
    order), in a transaction of their own, and it must have exactly the effect of `handler`
    on each in turn, in a few statements for all of them instead of a few for each. Should it
    fail, the relay rolls it back and runs `handler` once per delivery, one transaction each,
    so the failure is charged to its own delivery. The simplest way to keep the two the same
    is one code path: `handler(p, tx)` is `handle_many([p], tx)` (inventory's reserve_stock).
    Its locks must be taken in one global order across the batch (all of them sorted), so two
    batches never wait for each other in a circle. With `shares_transaction=True` as well (the
    same rules as above), its call shares one transaction with the calls of the claim's other
    such subscribers, made in the order of their names (one commit where there were several:
    inventory's track_product and ordering's learn_price on each ProductCreated). Should that
    transaction fail, each subscriber's call is rerun in a transaction of its own, as above.
    So that the global lock order holds across the calls too, let no two such subscribers
    lock rows of the same table (their own sorted order then meets nobody else's).

    `shares_transaction` may also be a function of the relay's settings, for a handler whose
    calls outside the database depend on them: notifications' send_email shares a transaction
    only while mail is off (it then does nothing at all).

    `needs_settings=True` calls `handler(payload, tx, settings)` with the relay's settings, for
    a handler that reaches a configured service (notifications' SMTP server): the tests and
    every process hand the relay their own settings, so the handler must not read the
    environment itself.
    """

    event_type: str
    name: str
    payload_type: type[msgspec.Struct]
    handler: (Callable[[Any, Tx], Awaitable[None]]
              | Callable[[Any, Tx, Settings], Awaitable[None]])
    shares_transaction: bool | Callable[[Settings], bool] = False
    needs_settings: bool = False
    handle_many: Callable[[list[Any], Tx], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        if self.handle_many is not None and self.needs_settings:
            raise ValueError(f"{self.name}: handle_many takes no settings")

    def shares(self, settings: Settings) -> bool:
        """Whether the relay, with these settings, may run this subscriber's deliveries in a
        transaction with others."""
        flag = self.shares_transaction
        return flag(settings) if callable(flag) else flag

    async def run(self, payload: Any, tx: Tx, settings: Settings) -> None:
        """Call the handler as the relay does: with the settings if it asks for them."""
        if self.needs_settings:
            await self.handler(payload, tx, settings)  # type: ignore[call-arg]
        else:
            await self.handler(payload, tx)  # type: ignore[call-arg]


@dataclass(frozen=True)
class Periodic:
    """`run(db, settings)` is called every `interval` seconds by each relay (in every server
    process and in `rampart worker`), so any number may run at once: it must be safe to.
    A failing run is logged and the next one comes at the next interval."""

    name: str
    interval: Callable[[Settings], float]
    run: Callable[[Database, Settings], Awaitable[None]]


@dataclass(frozen=True)
class Module:
    name: str
    routes: Sequence[Any] = ()
    subscriptions: Sequence[Subscription] = ()
    commands: Sequence[click.Command] = field(default_factory=tuple)
    # Bearer credentials this module verifies (shared/auth/credentials.py), e.g. API keys.
    authenticators: Sequence[AuthenticatorFactory] = ()
    periodic: Sequence[Periodic] = ()


def discover(package: str = "features") -> list[Module]:
    root = importlib.import_module(package)
    modules = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        manifest = getattr(importlib.import_module(f"{package}.{info.name}"), "module", None)
        if not isinstance(manifest, Module):
            raise TypeError(f"{package}.{info.name} must define `module = Module(...)`")
        modules.append(manifest)
    return modules
