"""Who may see an order: its owner, or an admin. Anyone else is told it does not exist."""

from __future__ import annotations

from typing import Any

from shared.auth.principal import Principal
from shared.http.problems import Problem, not_found


def visible_to(principal: Principal, row: dict[str, Any] | None) -> dict[str, Any]:
    """The order row if `principal` may see it; a 404 otherwise (never reveal that it exists)."""
    if row is None or (row["user_id"] != principal.user_id and not principal.is_admin):
        raise no_such_order()
    return row


def no_such_order() -> Problem:
    return not_found("No such order.")
