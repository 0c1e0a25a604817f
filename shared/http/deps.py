"""Typed names for what the kernel injects into handlers: `db: Db, principal: Caller`."""

from __future__ import annotations

from litestar.di import NamedDependency

from shared.auth.principal import Principal
from shared.auth.tokens import TokenService
from shared.cache import Caches
from shared.db.pool import Database
from shared.settings import Settings

Db = NamedDependency[Database]
Caller = NamedDependency[Principal]
Tokens = NamedDependency[TokenService]
AppSettings = NamedDependency[Settings]
Cached = NamedDependency[Caches]
