"""Who may see an order's payments: its owner, or an admin (anyone else: 404, as if none)."""

from __future__ import annotations

from uuid import UUID

from shared.auth.principal import Principal
from shared.http.problems import not_found


def check_visible(owner: UUID | None, principal: Principal) -> None:
    if owner is None or (owner != principal.user_id and not principal.is_admin):
        raise not_found("No such order.")
