"""Who is calling: the principal object slices receive, and the role guards."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from shared.http.problems import Problem

Role = Literal["customer", "admin"]
ROLES: tuple[str, ...] = ("customer", "admin")


class Principal(msgspec.Struct, frozen=True):
    user_id: UUID
    role: Role
    # Set when the caller authenticated with an API key (features/identity/api_keys.py): the
    # key has a rate-limit bucket of its own, apart from its owner's.
    api_key_id: UUID | None = None

    @property
    def bucket(self) -> str:
        """Whose rate-limit budget this request spends."""
        return str(self.user_id) if self.api_key_id is None else f"key:{self.api_key_id}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def from_claims(cls, sub: Any, role: Any) -> Principal:
        if role not in ROLES:
            raise ValueError("unknown role")
        return cls(user_id=UUID(str(sub)), role=role)


async def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Litestar guard: the caller must be an admin (403 otherwise).

    Async though it awaits nothing: Litestar runs a plain-function guard in a worker thread,
    a thread hop (and a GIL hand-over) on every admin request for one attribute check."""
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal) or not principal.is_admin:
        raise Problem(403, "This operation needs the admin role.")


def current_principal(request: Request[Any, Any, Any]) -> Principal:
    """Dependency provider: the authenticated caller of a protected route."""
    return request.scope["user"]
