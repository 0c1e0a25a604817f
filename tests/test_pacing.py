"""Back-pressure: commands that publish wait while the relays are behind (shared/http/pacing.py).

Real PostgreSQL from the real migrations, no relay running (the test settings turn it off), so
a delivery the test stores stays due for as long as the test wants the relays to look behind.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest
from uuid_utils.compat import uuid7

from shared.db.pool import Database
from shared.http.pacing import Pacer
from tests.fixtures import make_settings, problem, store_event
from tests.helpers import eventually
from tests.saga import product

SUBSCRIBER = "inventory.reserve_stock"  # a subscriber of this build


@pytest.fixture
def settings():
    return make_settings(outbox_pacing_lag_ms=200, outbox_pacing_max_wait_ms=400)


async def behind(db_conn: Any, seconds: float, subscriber: str = SUBSCRIBER) -> UUID:
    """A delivery due `seconds` ago that nobody has taken: the relays look that far behind."""
    event_id = await store_event(db_conn, "OrderPlaced", "{}", subscriber)
    await db_conn.execute("UPDATE kernel.outbox_deliveries SET next_attempt_at ="
                          " now() - make_interval(secs => %s) WHERE event_id = %s",
                          (seconds, event_id))
    return event_id


def registration() -> dict[str, str]:
    return {"email": f"{uuid7().hex}@example.com", "password": "correct horse battery",
            "name": "Paced"}


async def test_writes_that_publish_wait_while_the_relays_are_behind_then_run(
        app, client, db_conn) -> None:
    pacer: Pacer = app.state.pacer
    assert pacer.enabled and await pacer.measure() == 0.0  # nothing due: no wait
    response = await client.post("/v1/users", json=registration())
    assert response.status_code == 201 and "server-timing" not in response.headers

    await behind(db_conn, 30)
    await eventually(lambda: pacer.lag > 29)
    # Two at once: both wait the longest wait (the lag is far past the allowance), both run.
    answers = await asyncio.gather(*(client.post("/v1/users", json=registration())
                                     for _ in range(2)))
    for response in answers:
        assert response.status_code == 201
        assert response.headers["server-timing"] == "pacing;dur=400"
    # A read is never paced; nor is a write that publishes nothing (a login).
    assert "server-timing" not in (await client.get("/health/live")).headers
    login = await client.post("/v1/auth/token", json={"email": "nobody@example.com",
                                                      "password": "wrong password"})
    problem(login, 401, "unauthenticated")
    assert "server-timing" not in login.headers

    # The relays catch up (with that delivery and the registrations' welcomes): writes run at
    # once again.
    await db_conn.execute("UPDATE kernel.outbox_deliveries SET state = 'done', done_at = now()"
                          " WHERE state = 'pending'")
    await eventually(lambda: pacer.lag == 0)
    response = await client.post("/v1/users", json=registration())
    assert response.status_code == 201 and "server-timing" not in response.headers


def test_the_wait_is_the_lag_beyond_the_allowance_up_to_the_longest_wait() -> None:
    pacer = Pacer(None, make_settings(outbox_pacing_lag_ms=200,  # type: ignore[arg-type]
                                      outbox_pacing_max_wait_ms=400), [SUBSCRIBER])
    for lag, wait in ((0.0, 0.0), (0.2, 0.0), (0.5, 0.3), (0.6, 0.4), (30.0, 0.4)):
        pacer.observe(lag)
        assert max(pacer.delay(), 0.0) == pytest.approx(wait), lag


async def test_an_idempotent_retry_of_a_paced_write_is_still_one_order(
        app, client, db_conn, api) -> None:
    """Pacing runs before the idempotency record: the wait changes nothing about replays."""
    product_id = await product(db_conn, on_hand=5)
    headers = {**await api.user_headers(), "Idempotency-Key": "paced-retry"}
    await behind(db_conn, 30)
    await eventually(lambda: app.state.pacer.lag > 29)
    body = {"items": [{"product_id": str(product_id), "quantity": 1}]}
    first, second = await asyncio.gather(*(client.post("/v1/orders", json=body, headers=headers)
                                           for _ in range(2)))
    statuses = sorted([first.status_code, second.status_code])
    assert statuses in ([201, 201], [201, 409])  # replayed, or told the first is in progress
    orders = await db_conn.execute("SELECT count(*) AS n FROM ordering.orders")
    assert (await orders.fetchone())["n"] == 1


@pytest.mark.parametrize("held_back", ["dead letter ahead", "retry not due", "orphaned",
                                       "leased"])
async def test_only_deliveries_a_relay_could_take_now_count_as_lag(
        database_url, db_conn, held_back) -> None:
    """A lane stuck behind a dead letter, a retry waiting out its backoff, a delivery for a
    subscriber this build does not have, one a relay is working on: none of them means the
    relays are behind, so none may slow the writers down."""
    event_id = await behind(db_conn, 60, "gone.subscriber" if held_back == "orphaned"
                            else SUBSCRIBER)
    if held_back == "dead letter ahead":  # an earlier delivery of the same lane died
        dead = await store_event(db_conn, "OrderPlaced", "{}", SUBSCRIBER)
        await db_conn.execute(
            "UPDATE kernel.outbox_deliveries d SET state = 'dead',"
            " aggregate_id = later.aggregate_id, seq = later.seq - 1"
            " FROM kernel.outbox_deliveries later"
            " WHERE d.event_id = %s AND later.event_id = %s", (dead, event_id))
    elif held_back == "retry not due":
        await db_conn.execute("UPDATE kernel.outbox_deliveries SET attempts = 3,"
                              " next_attempt_at = now() + interval '1 minute'"
                              " WHERE event_id = %s", (event_id,))
    elif held_back == "leased":
        await db_conn.execute("UPDATE kernel.outbox_deliveries SET attempts = 1,"
                              " lease_token = %s, lease_expires_at = now() + interval '5 s'"
                              " WHERE event_id = %s", (uuid7(), event_id))
    db = Database(database_url, min_size=1, max_size=1)
    await db.open()
    try:
        pacer = Pacer(db, make_settings(), [SUBSCRIBER])
        assert await pacer.measure() == 0.0
        await behind(db_conn, 60)  # and a delivery that does count, to show the probe sees it
        assert await pacer.measure() >= 60
    finally:
        await db.close()


async def test_pacing_off_means_no_probe_and_no_wait(database_url, db_conn) -> None:
    await behind(db_conn, 60)
    db = Database(database_url, min_size=1, max_size=1)
    await db.open()
    try:
        for settings in (make_settings(outbox_pacing_lag_ms=0),
                         make_settings(outbox_pacing_max_wait_ms=0)):
            pacer = Pacer(db, settings, [SUBSCRIBER])
            await pacer.start()
            assert not pacer.enabled and pacer._probe is None
            pacer.observe(60.0)
            assert await pacer.wait() == 0.0
            await pacer.stop()
    finally:
        await db.close()


async def test_a_probe_that_cannot_reach_the_database_holds_nobody(database_url) -> None:
    db = Database(database_url, min_size=1, max_size=1)
    await db.open()
    pacer = Pacer(db, make_settings(outbox_pacing_lag_ms=100), [SUBSCRIBER])
    pacer.observe(60.0)  # behind, as last seen
    await db.close()  # the pool is gone: every probe fails
    await pacer.start()
    try:
        await eventually(lambda: pacer.lag == 0.0)
        assert await pacer.wait() == 0.0
    finally:
        await pacer.stop()
