"""revoke_api_key: DELETE /v1/api-keys/{key_id}."""

from __future__ import annotations

import asyncio

from features.identity.create_api_key.test_create_api_key import create_key, key_headers
from tests.fixtures import problem


async def test_a_revoked_key_is_refused_at_once_like_any_bad_credential(client, api) -> None:
    headers = await api.user_headers()
    key = await create_key(client, headers)
    assert (await client.get("/v1/users/me", headers=key_headers(key))).status_code == 200
    response = await client.delete(f"/v1/api-keys/{key['id']}", headers=headers)
    assert response.status_code == 204 and response.content == b""
    revoked = problem(await client.get("/v1/users/me", headers=key_headers(key)),
                      401, "unauthenticated")
    forged = problem(await client.get("/v1/users/me", headers={
        "Authorization": "Bearer v4.public.forged"}), 401, "unauthenticated")
    unknown = problem(await client.get("/v1/users/me", headers={
        "Authorization": "Bearer rk_" + "A" * 43}), 401, "unauthenticated")
    for body in (revoked, forged, unknown):
        body.pop("request_id")
    assert revoked == forged == unknown


async def test_a_key_may_revoke_itself(client, api) -> None:
    key = await create_key(client, await api.user_headers())
    assert (await client.delete(f"/v1/api-keys/{key['id']}",
                                headers=key_headers(key))).status_code == 204
    problem(await client.get("/v1/users/me", headers=key_headers(key)), 401, "unauthenticated")


async def test_another_users_key_is_404_and_keeps_working(client, api) -> None:
    key = await create_key(client, await api.user_headers())
    for headers in (await api.user_headers(), await api.admin_headers()):
        problem(await client.delete(f"/v1/api-keys/{key['id']}", headers=headers),
                404, "not-found")
    assert (await client.get("/v1/users/me", headers=key_headers(key))).status_code == 200


async def test_two_revocations_at_once_one_204_one_404(client, api, db_conn) -> None:
    headers = await api.user_headers()
    key = await create_key(client, headers)
    responses = await asyncio.gather(*(client.delete(f"/v1/api-keys/{key['id']}",
                                                     headers=headers) for _ in range(2)))
    assert sorted(r.status_code for r in responses) == [204, 404]
    row = await (await db_conn.execute("SELECT revoked_at FROM identity.api_keys WHERE id = %s",
                                       (key["id"],))).fetchone()
    assert row["revoked_at"] is not None


async def test_boundaries(client, api) -> None:
    headers = await api.user_headers()
    for path in ("/v1/api-keys/not-a-uuid", "/v1/api-keys/01890a5d-ac96-774b-bcce-b302099a8057",
                 "/v1/api-keys/"):
        response = await client.delete(path, headers=headers)
        assert response.status_code in (404, 405), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
