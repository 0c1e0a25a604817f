"""The order state machine (features/ordering/lifecycle.py), transition by transition."""

from __future__ import annotations

import pytest

from features.ordering import lifecycle

ALLOWED = {
    ("pending", "confirm"): "confirmed",
    ("pending", "reject"): "rejected",
    ("pending", "cancel"): "cancelled",
    ("confirmed", "cancel"): "cancelled",
    ("confirmed", "pay"): "paid",
    ("paid", "ship"): "shipped",
}


@pytest.mark.parametrize("current", lifecycle.STATUSES)
@pytest.mark.parametrize("action", list(lifecycle.TRANSITIONS))
def test_every_status_and_action(current, action) -> None:
    assert lifecycle.next_status(current, action) == ALLOWED.get((current, action))


def test_terminal_statuses_go_nowhere() -> None:
    for current in ("rejected", "cancelled", "shipped"):
        assert all(lifecycle.next_status(current, a) is None for a in lifecycle.TRANSITIONS)


def test_only_a_repeated_cancel_is_a_harmless_repeat() -> None:
    assert lifecycle.already_done("cancelled", "cancel")
    assert not lifecycle.already_done("shipped", "ship")  # a second shipment is a conflict
    assert not lifecycle.already_done("paid", "pay")
    assert not lifecycle.already_done("rejected", "cancel")


def test_a_refusal_names_the_status_and_what_would_allow_it() -> None:
    assert lifecycle.refusal("paid", "cancel") == (
        "The order is paid; it can be cancelled only when it is confirmed or pending.")
    assert lifecycle.refusal("confirmed", "ship") == (
        "The order is confirmed; it can be shipped only when it is paid.")
