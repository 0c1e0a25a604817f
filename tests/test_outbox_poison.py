"""A poison event: retried with growing delays, then a dead letter that holds back only its
own aggregate, until an admin retries it through the API."""

from __future__ import annotations

import time
from itertools import pairwise
from typing import Any
from uuid import UUID

import pytest
from uuid_utils.compat import uuid7

from tests.fixtures import Api, eventually, problem
from tests.outbox_support import (
    SUBSCRIBER,
    SeenTick,
    count_effects,
    prepare,
    publish_ticks,
    query,
    recorder,
    register,
    relay_settings,
    running,
    subscription,
)

DEAD_LETTERS = "/v1/admin/outbox/dead-letters"
BASE_MS, ATTEMPTS = 100, 4


async def test_a_poison_event_is_retried_then_dead_lettered_then_retried_by_an_admin(
        database_url: str, monkeypatch: pytest.MonkeyPatch, client: Any, api: Api) -> None:
    url = await prepare(database_url, monkeypatch)
    poison_key = uuid7()
    attempts_at: list[float] = []
    broken = True

    def maybe_explode(tick: SeenTick) -> None:
        if tick.key == poison_key and tick.n == 0:
            attempts_at.append(time.monotonic())
            if broken:
                raise RuntimeError("cannot digest this one")

    sub = subscription(recorder(then=maybe_explode))
    register(sub)
    others = [uuid7() for _ in range(5)]
    await publish_ticks(url, [(poison_key, 0), (poison_key, 1)])
    await publish_ticks(url, [(k, n) for n in range(4) for k in others], per_tx=5)

    settings = relay_settings(outbox_max_attempts=ATTEMPTS, outbox_backoff_base_ms=BASE_MS)
    async with running(url, [sub], settings):
        await eventually(lambda: _dead(url, 1))
        # Every other aggregate goes through although the poison is stuck...
        async def others_done() -> bool:
            return [await _handled(url, k) for k in others] == [[0, 1, 2, 3]] * 5

        await eventually(others_done)
        # ...but the poison's own later event waits behind it: its lane is held, in order.
        assert await _handled(url, poison_key) == []

        gaps = [b - a for a, b in pairwise(attempts_at)]
        assert len(attempts_at) == ATTEMPTS
        for n, gap in enumerate(gaps, start=1):  # attempt n waits at least half its ceiling
            assert gap >= BASE_MS / 1000 * 2 ** (n - 1) / 2 * 0.95, gaps
        assert gaps[-1] > gaps[0], gaps

        admin = await api.admin_headers()
        listed = await client.get(DEAD_LETTERS, headers=admin)
        assert listed.status_code == 200, listed.text
        [letter] = listed.json()["items"]
        assert letter["event_type"] == "Tick" and letter["subscriber"] == SUBSCRIBER
        assert letter["aggregate_id"] == str(poison_key)
        assert letter["attempts"] == ATTEMPTS and letter["state"] == "dead"
        assert letter["last_error"] == "RuntimeError: cannot digest this one"
        assert letter["created_at"].endswith("Z")

        broken = False
        retried = await client.post(f"{DEAD_LETTERS}/{letter['id']}/retry", headers=admin)
        assert retried.status_code == 200, retried.text
        assert retried.json()["state"] == "pending" and retried.json()["attempts"] == 0
        await eventually(lambda: _handled_equals(url, poison_key, [0, 1]))

        again = await client.post(f"{DEAD_LETTERS}/{letter['id']}/retry", headers=admin)
        problem(again, 409, "conflict")
    assert (await client.get(DEAD_LETTERS, headers=admin)).json()["items"] == []
    assert await count_effects(url) == 22


async def test_dead_letters_are_for_admins_and_paged(
        database_url: str, monkeypatch: pytest.MonkeyPatch, client: Any, api: Api) -> None:
    url = await prepare(database_url, monkeypatch)
    sub = subscription(recorder())
    register(sub)
    await publish_ticks(url, [(uuid7(), 0) for _ in range(5)], per_tx=5)
    await query(url, "UPDATE kernel.outbox_deliveries SET state = 'dead', attempts = 4, "
                     "last_error = 'boom'")
    ids = [r["id"] for r in await query(url, "SELECT id FROM kernel.outbox_deliveries")]

    problem(await client.get(DEAD_LETTERS), 401, "unauthenticated")
    customer = await api.user_headers()
    problem(await client.get(DEAD_LETTERS, headers=customer), 403, "forbidden")
    problem(await client.post(f"{DEAD_LETTERS}/{ids[0]}/retry", headers=customer),
            403, "forbidden")

    admin = await api.admin_headers()
    first = await client.get(DEAD_LETTERS, params={"limit": 3}, headers=admin)
    assert first.status_code == 200 and 'rel="next"' in first.headers["link"]
    rest = await client.get(DEAD_LETTERS, params={"limit": 3, "cursor": first.json()
                                                  ["next_cursor"]}, headers=admin)
    page_ids = [item["id"] for item in first.json()["items"] + rest.json()["items"]]
    assert page_ids == sorted((str(i) for i in ids), reverse=True)  # newest first, no repeats
    assert rest.json()["next_cursor"] is None

    problem(await client.post(f"{DEAD_LETTERS}/not-a-uuid/retry", headers=admin),
            404, "not-found")
    problem(await client.post(f"{DEAD_LETTERS}/{uuid7()}/retry", headers=admin),
            404, "not-found")
    problem(await client.get(DEAD_LETTERS, params={"cursor": "forged"}, headers=admin),
            400, "validation-error")


async def _dead(url: str, n: int) -> bool:
    rows = await query(url, "SELECT count(*) AS n FROM kernel.outbox_deliveries "
                            "WHERE state = 'dead'")
    return rows[0]["n"] == n


async def _handled(url: str, key: UUID) -> list[int]:
    rows = await query(url, "SELECT n FROM public.test_effects WHERE key = %s ORDER BY serial",
                       (key,))
    return [r["n"] for r in rows]


async def _handled_equals(url: str, key: UUID, expected: list[int]) -> bool:
    return await _handled(url, key) == expected
