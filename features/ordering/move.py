"""Moving an order along its lifecycle on a caller's request (cancel, ship): the HTTP side of
a transition, shared by the slices that offer one."""

from __future__ import annotations

from uuid import UUID

import msgspec

from features.ordering import lifecycle, orders_sql
from features.ordering.access import visible_to
from features.ordering.schema import Order
from shared.auth.principal import Principal
from shared.db import Tx
from shared.http.problems import conflict


async def move(tx: Tx, principal: Principal, order_id: UUID,
               action: lifecycle.Action) -> tuple[Order, bool]:
    """Apply `action` to an order the caller may see. Returns the order and whether it moved:
    a repeat of a move already made (cancelling a cancelled order) returns it unchanged.
    404 for an order the caller may not see, 409 when its status does not allow the move."""
    visible_to(principal, await orders_sql.get_order(tx, order_id))
    row = await orders_sql.transition(tx, order_id, action)
    if row is not None:
        return msgspec.convert(row, Order), True
    # Refused: the status moved on (possibly a concurrent request just made this very move).
    current = msgspec.convert(await orders_sql.get_order(tx, order_id), Order)
    if lifecycle.already_done(current.status, action):
        return current, False
    raise conflict(lifecycle.refusal(current.status, action))
