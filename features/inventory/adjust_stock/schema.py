from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from shared.http.schema import SAYS_SOMETHING, Body

# Bounded so that no sequence of realistic adjustments can overflow the bigint columns.
MAX_DELTA = 1_000_000_000
Delta = Annotated[int, Meta(ge=-MAX_DELTA, le=MAX_DELTA,
                            description="Non-zero: positive adds stock, negative removes it.",
                            extra_json_schema={"not": {"const": 0}})]
Reason = Annotated[str, Meta(min_length=1, max_length=200, extra_json_schema=SAYS_SOMETHING)]


class Adjustment(Body, frozen=True):
    delta: Delta
    reason: Reason
