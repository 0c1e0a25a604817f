"""issue_token: POST /v1/auth/token (login)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from features.identity.issue_token.logic import Counts, admit
from shared.settings import Rate
from tests.fixtures import make_settings, problem

PASSWORD = "correct horse 1"


@pytest.fixture
def settings():
    return make_settings(rate_limit_login="5/15minutes")


# -- logic (pure) ---------------------------------------------------------------------------

START = datetime(2026, 1, 1, tzinfo=UTC)
RATE = Rate(5, 900)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def test_failures_use_up_the_budget_then_the_window_counts_down() -> None:
    assert admit(Counts(4, START, 0, None), at(1), RATE) == "go"
    assert admit(Counts(5, START, 0, None), at(100), RATE) == 800
    assert admit(Counts(5, START, 0, None), at(899.5), RATE) == 1
    assert admit(Counts(5, START, 0, None), at(900), RATE) == "go"  # a new window


def test_attempts_in_flight_make_the_next_one_wait_never_refused() -> None:
    held = at(30)
    assert admit(Counts(0, START, 4, held), at(1), RATE) == "go"
    assert admit(Counts(0, START, 5, held), at(1), RATE) == "wait"
    assert admit(Counts(3, START, 2, held), at(1), RATE) == "wait"
    assert admit(Counts(0, START, 5, held), at(31), RATE) == "go"  # lapsed: a server died


# -- HTTP -------------------------------------------------------------------------------------

async def test_login_returns_a_token_pair_that_is_never_cached(client, api) -> None:
    user = await api.register()
    response = await client.post("/v1/auth/token", json={"email": user["email"].upper(),
                                                          "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["access_token"].startswith("v4.public.")
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/v1/users/me", headers={
        "Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == user["id"]


async def test_wrong_email_and_wrong_password_look_the_same(client, api) -> None:
    user = await api.register()
    wrong_password = await client.post("/v1/auth/token", json={
        "email": user["email"], "password": "not the password"})
    wrong_email = await client.post("/v1/auth/token", json={
        "email": "nobody@example.com", "password": PASSWORD})
    a = problem(wrong_password, 401, "unauthenticated")
    b = problem(wrong_email, 401, "unauthenticated")
    for body in (a, b):
        body.pop("request_id")
    assert a == b
    assert wrong_password.headers.get("www-authenticate") == wrong_email.headers.get(
        "www-authenticate")


async def test_failed_logins_are_limited_per_email_and_address(client, api) -> None:
    user = await api.register()
    for _ in range(5):
        problem(await client.post("/v1/auth/token", json={
            "email": user["email"], "password": "wrong password"}), 401, "unauthenticated")
    # Locked now, even with the right password: the attacker cannot learn that it was right.
    locked = await client.post("/v1/auth/token", json={"email": user["email"],
                                                       "password": PASSWORD})
    problem(locked, 429, "rate-limited")
    assert 1 <= int(locked.headers["retry-after"]) <= 900
    assert locked.headers["ratelimit-policy"] == '"login";q=5;w=900'
    # Another account from the same address is not affected.
    other = await api.register()
    assert (await client.post("/v1/auth/token", json={
        "email": other["email"], "password": PASSWORD})).status_code == 200


async def test_concurrent_guesses_cannot_slip_past_the_limit(client, api) -> None:
    user = await api.register()
    responses = await asyncio.gather(*(client.post("/v1/auth/token", json={
        "email": user["email"], "password": f"guess {i}"}) for i in range(9)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * 5 + [429] * 4


async def test_a_right_password_is_never_refused_for_logins_in_flight(client, api) -> None:
    user = await api.register()
    responses = await asyncio.gather(*(client.post("/v1/auth/token", json={
        "email": user["email"], "password": PASSWORD}) for _ in range(8)))
    assert [r.status_code for r in responses] == [200] * 8


async def test_success_clears_the_failure_count(client, api, db_conn) -> None:
    user = await api.register()
    for _ in range(4):
        await client.post("/v1/auth/token", json={"email": user["email"], "password": "nope"})
    await api.login(user["email"])
    left = await (await db_conn.execute("SELECT count(*) AS n FROM identity.login_failures"
                                        " WHERE email = lower(%s)", (user["email"],))).fetchone()
    assert left["n"] == 0


@pytest.mark.parametrize("body", [
    {}, {"email": "", "password": "x"}, {"email": "a@b.c", "password": ""},
    {"email": "a@b.c", "password": "p" * 129}, {"email": ["a@b.c"], "password": "x"},
    {"email": "a@b.c", "password": "x", "remember_me": True},
])
async def test_malformed_logins_are_400(client, body) -> None:
    problem(await client.post("/v1/auth/token", json=body), 400, "validation-error")


class TestPerAddress:
    @pytest.fixture
    def settings(self):
        return make_settings(rate_limit_login="5/15minutes",
                             rate_limit_login_address="3/15minutes")

    async def test_one_address_spraying_many_emails_is_stopped(self, client, api) -> None:
        user = await api.register()
        for i in range(3):
            problem(await client.post("/v1/auth/token", json={
                "email": f"victim-{i}@example.com", "password": "guess"}), 401, "unauthenticated")
        sprayed = await client.post("/v1/auth/token", json={
            "email": "victim-9@example.com", "password": "guess"})
        problem(sprayed, 429, "rate-limited")
        assert sprayed.headers["ratelimit-policy"] == '"login-address";q=3;w=900'
        # Every account from that address, the right password included, until the window ends.
        problem(await client.post("/v1/auth/token", json={
            "email": user["email"], "password": PASSWORD}), 429, "rate-limited")
