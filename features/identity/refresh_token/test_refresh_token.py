"""refresh_token: POST /v1/auth/refresh (rotation, reuse detection)."""

from __future__ import annotations

import asyncio

import pytest

from features.identity.refresh_token.logic import Outcome, judge
from tests.fixtures import problem


def test_judge() -> None:
    assert judge({"family_id": 1}, None) is Outcome.ROTATE
    assert judge(None, {"spent_at": "t", "revoked_at": None}) is Outcome.REVOKE_FAMILY
    assert judge(None, {"spent_at": "t", "revoked_at": "t"}) is Outcome.REJECT
    assert judge(None, {"spent_at": None, "revoked_at": "t"}) is Outcome.REJECT
    assert judge(None, None) is Outcome.REJECT


async def refresh(client, token):
    return await client.post("/v1/auth/refresh", json={"refresh_token": token})


async def test_rotation_spends_the_old_token(client, api) -> None:
    user = await api.register()
    first = await api.login(user["email"])
    rotated = await refresh(client, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    pair = rotated.json()
    assert pair["refresh_token"] != first["refresh_token"]
    me = await client.get("/v1/users/me", headers={
        "Authorization": f"Bearer {pair['access_token']}"})
    assert me.json()["id"] == user["id"]
    assert (await refresh(client, pair["refresh_token"])).status_code == 200


async def test_reusing_a_spent_token_revokes_the_whole_family(client, api) -> None:
    user = await api.register()
    first = await api.login(user["email"])
    second = (await refresh(client, first["refresh_token"])).json()
    problem(await refresh(client, first["refresh_token"]), 401, "unauthenticated")
    # The thief and the user both lose the family, including its newest token.
    problem(await refresh(client, second["refresh_token"]), 401, "unauthenticated")
    # Another login (another family) is untouched.
    other = await api.login(user["email"])
    assert (await refresh(client, other["refresh_token"])).status_code == 200


async def test_two_refreshes_of_one_token_at_once_only_one_succeeds(client, api) -> None:
    user = await api.register()
    pair = await api.login(user["email"])
    a, b = await asyncio.gather(refresh(client, pair["refresh_token"]),
                                refresh(client, pair["refresh_token"]))
    assert sorted([a.status_code, b.status_code]) == [200, 401]


async def test_expired_token_is_rejected(client, api, db_conn) -> None:
    user = await api.register()
    pair = await api.login(user["email"])
    await db_conn.execute("UPDATE identity.refresh_tokens SET expires_at = now() - interval '1s'")
    problem(await refresh(client, pair["refresh_token"]), 401, "unauthenticated")


async def test_a_deleted_user_cannot_refresh(client, api, db_conn) -> None:
    user = await api.register()
    pair = await api.login(user["email"])
    # The foreign key cascades: the user's refresh tokens go with the user.
    await db_conn.execute("DELETE FROM identity.users WHERE id = %s", (user["id"],))
    problem(await refresh(client, pair["refresh_token"]), 401, "unauthenticated")


@pytest.mark.parametrize("body", [{}, {"refresh_token": ""}, {"refresh_token": "x" * 513},
                                  {"refresh_token": 5}, {"refresh_token": "a", "extra": 1}])
async def test_malformed_requests_are_400(client, body) -> None:
    problem(await client.post("/v1/auth/refresh", json=body), 400, "validation-error")


async def test_unknown_token_is_401(client) -> None:
    problem(await refresh(client, "made-up"), 401, "unauthenticated")
