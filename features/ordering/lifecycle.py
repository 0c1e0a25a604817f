"""The order state machine: pure rules, no I/O. Every slice that moves an order asks here.

    pending --StockReserved--> confirmed --PaymentSucceeded--> paid --ship--> shipped
    pending --StockRejected--> rejected
    pending | confirmed --cancel--> cancelled

The database applies a move as one guarded UPDATE (`WHERE status = ANY(sources)`), so two
moves racing for one order serialise on its row and the loser finds the winner's status.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["pending", "confirmed", "rejected", "cancelled", "paid", "shipped"]
STATUSES: tuple[Status, ...] = ("pending", "confirmed", "rejected", "cancelled", "paid",
                                "shipped")
Action = Literal["confirm", "reject", "cancel", "pay", "ship"]

# action -> (the statuses it may start from, the status it leads to)
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    "confirm": (frozenset({"pending"}), "confirmed"),
    "reject": (frozenset({"pending"}), "rejected"),
    "cancel": (frozenset({"pending", "confirmed"}), "cancelled"),
    "pay": (frozenset({"confirmed"}), "paid"),
    "ship": (frozenset({"paid"}), "shipped"),
}


def sources(action: Action) -> list[Status]:
    """The statuses `action` may start from, sorted (a stable statement parameter)."""
    return sorted(TRANSITIONS[action][0])


def target(action: Action) -> Status:
    return TRANSITIONS[action][1]


def next_status(current: Status, action: Action) -> Status | None:
    """Where `action` takes an order in `current`; None when the move is not allowed."""
    allowed, to = TRANSITIONS[action]
    return to if current in allowed else None


# A repeated cancel is answered with the cancelled order (a retry is safe); a repeated ship
# is a conflict: a shipment happens once, and a second request for one is a mistake to flag.
REPEATABLE: frozenset[Action] = frozenset({"cancel"})


def already_done(current: Status, action: Action) -> bool:
    """Whether `action` on an order in `current` is a harmless repeat of a move made before."""
    return action in REPEATABLE and current == target(action)


def refusal(current: Status, action: Action) -> str:
    """Why `action` cannot move an order in `current`, for the 409's detail."""
    allowed = " or ".join(sources(action))
    return f"The order is {current}; it can be {_PAST[action]} only when it is {allowed}."


_PAST: dict[Action, str] = {"confirm": "confirmed", "reject": "rejected",
                            "cancel": "cancelled", "pay": "paid", "ship": "shipped"}
