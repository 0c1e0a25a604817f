"""Typed names for what the kernel injects into handlers: `db: Db, principal: Caller`, and how
they are resolved.

Litestar resolves a handler's dependencies level by level, and the dependencies of one level
side by side in an anyio task group when there are two or more (litestar PR #744), so that
async ones overlap. The kernel's are plain functions that read the app's state or the request
(shared/app.py): they cannot overlap, and the task group around them costs more than they
do (measured on GET /v1/users/me: 0.70 against 0.42 ms of server CPU per request; upstream,
litestar issue #4563). `resolve_inline()` has handlers whose dependencies are all such
functions resolve them one after another, in the same order of levels, with the same
clean-up; any handler with an async or threaded dependency keeps Litestar's own way.
"""

from __future__ import annotations

from typing import Any

from litestar._kwargs.cleanup import DependencyCleanupGroup
from litestar._kwargs.dependencies import resolve_dependency
from litestar._kwargs.kwargs_model import KwargsModel
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

_side_by_side = KwargsModel.resolve_dependencies


async def _resolve(self: KwargsModel, connection: Any, kwargs: dict[str, Any]
                   ) -> DependencyCleanupGroup:
    batches = self.dependency_batches
    if not all(d.provide.has_sync_callable for batch in batches for d in batch):
        return await _side_by_side(self, connection, kwargs)
    cleanup = DependencyCleanupGroup()
    for batch in batches:
        for dependency in batch:
            await resolve_dependency(dependency, connection, kwargs, cleanup)
    return cleanup


def resolve_inline() -> None:
    """Install the inline resolution (idempotent): shared/app.py calls it."""
    KwargsModel.resolve_dependencies = _resolve  # type: ignore[method-assign]
