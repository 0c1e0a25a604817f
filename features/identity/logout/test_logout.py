"""logout: POST /v1/auth/logout."""

from __future__ import annotations

import asyncio

from tests.fixtures import problem


async def session(api):
    user = await api.register()
    pair = await api.login(user["email"])
    return user, pair, {"Authorization": f"Bearer {pair['access_token']}"}


async def test_logout_revokes_the_family(client, api) -> None:
    _, pair, headers = await session(api)
    response = await client.post("/v1/auth/logout", json={
        "refresh_token": pair["refresh_token"]}, headers=headers)
    assert response.status_code == 204 and response.content == b""
    problem(await client.post("/v1/auth/refresh", json={
        "refresh_token": pair["refresh_token"]}), 401, "unauthenticated")


async def test_someone_elses_token_is_ignored(client, api) -> None:
    _, victim, _ = await session(api)
    _, _, attacker_headers = await session(api)
    response = await client.post("/v1/auth/logout", json={
        "refresh_token": victim["refresh_token"]}, headers=attacker_headers)
    assert response.status_code == 204  # reveals nothing...
    still = await client.post("/v1/auth/refresh", json={"refresh_token": victim["refresh_token"]})
    assert still.status_code == 200  # ...and revokes nothing


async def test_two_logouts_at_once_are_both_fine(client, api) -> None:
    _, pair, headers = await session(api)
    results = await asyncio.gather(*(client.post("/v1/auth/logout", json={
        "refresh_token": pair["refresh_token"]}, headers=headers) for _ in range(2)))
    assert [r.status_code for r in results] == [204, 204]


async def test_logout_needs_a_token_and_a_body(client, api) -> None:
    _, pair, headers = await session(api)
    problem(await client.post("/v1/auth/logout", json={
        "refresh_token": pair["refresh_token"]}), 401, "unauthenticated")
    problem(await client.post("/v1/auth/logout", json={}, headers=headers), 400,
            "validation-error")


async def test_a_deleted_users_logout_is_harmless(client, api, db_conn) -> None:
    user, pair, headers = await session(api)
    await db_conn.execute("DELETE FROM identity.users WHERE id = %s", (user["id"],))
    response = await client.post("/v1/auth/logout", json={
        "refresh_token": pair["refresh_token"]}, headers=headers)
    assert response.status_code == 204
