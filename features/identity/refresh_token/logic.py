"""Refresh-token rotation rules, pure.

A token can be spent once. Presenting a token that was already spent means two parties hold
it (one of them a thief): the whole family is revoked, the legitimate user logs in again.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class Outcome(Enum):
    ROTATE = "rotate"            # valid: spend it and issue the next one in the family
    REVOKE_FAMILY = "revoke"     # reuse of a spent token: revoke every token of its family
    REJECT = "reject"            # unknown, expired or already revoked: plain 401


def judge(spent: dict[str, Any] | None, known: dict[str, Any] | None) -> Outcome:
    """`spent` is the row the atomic spend returned; `known` is the token's row otherwise."""
    if spent is not None:
        return Outcome.ROTATE
    if known is not None and known["spent_at"] is not None and known["revoked_at"] is None:
        return Outcome.REVOKE_FAMILY
    return Outcome.REJECT
