"""list_api_keys: GET /v1/api-keys."""

from __future__ import annotations

import asyncio

from features.identity.create_api_key.test_create_api_key import create_key, key_headers
from tests.fixtures import page_through, problem


async def test_lists_the_callers_keys_newest_first_without_secrets(client, api) -> None:
    headers = await api.user_headers()
    made = [await create_key(client, headers, name=f"key {i}") for i in range(3)]
    await client.get("/v1/users/me", headers=key_headers(made[0]))  # marks it used
    response = await client.get("/v1/api-keys", headers=headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["id"] for i in items] == [k["id"] for k in reversed(made)]
    assert set(items[0]) == {"id", "name", "role", "prefix", "created_at", "last_used_at",
                             "expires_at"}
    assert items[-1]["last_used_at"] is not None and items[0]["last_used_at"] is None
    for key in made:
        assert key["secret"][11:] not in response.text


async def test_another_users_keys_are_invisible(client, api) -> None:
    mine = await create_key(client, await api.user_headers())
    other = await api.user_headers()
    body = (await client.get("/v1/api-keys", headers=other)).json()
    assert body == {"items": [], "next_cursor": None}
    assert mine["id"] not in str(body)


async def test_pages_through_many_keys_and_a_foreign_cursor_is_400(client, api) -> None:
    headers = await api.user_headers()
    made = await asyncio.gather(*(create_key(client, headers, name=f"k{i}") for i in range(5)))
    seen, pages = await page_through(client, "/v1/api-keys", {"limit": 2}, headers)
    assert sorted(seen) == sorted(k["id"] for k in made) and pages == 3
    cursor = (await client.get("/v1/api-keys", headers=headers,
                               params={"limit": 2})).json()["next_cursor"]
    other = await api.user_headers()
    problem(await client.get("/v1/api-keys", headers=other, params={"cursor": cursor}),
            400, "validation-error")


async def test_a_revoked_key_leaves_the_list(client, api) -> None:
    headers = await api.user_headers()
    keep, drop = await create_key(client, headers), await create_key(client, headers)
    assert (await client.delete(f"/v1/api-keys/{drop['id']}", headers=headers)).status_code == 204
    items = (await client.get("/v1/api-keys", headers=headers)).json()["items"]
    assert [i["id"] for i in items] == [keep["id"]]


async def test_boundaries(client, api) -> None:
    headers = await api.user_headers()
    for params in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "garbage"}):
        problem(await client.get("/v1/api-keys", headers=headers, params=params),
                400, "validation-error")
    problem(await client.get("/v1/api-keys"), 401, "unauthenticated")
