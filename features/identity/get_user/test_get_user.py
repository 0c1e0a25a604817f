"""get_user: GET /v1/users/{id} (owner or admin; 404 otherwise)."""

from __future__ import annotations

import asyncio

from tests.fixtures import problem


async def test_owner_and_admin_can_read_others_cannot(client, api) -> None:
    owner = await api.register()
    owner_headers = {"Authorization": f"Bearer {(await api.login(owner['email']))['access_token']}"}
    stranger = await api.user_headers()
    admin = await api.admin_headers()
    path = f"/v1/users/{owner['id']}"
    assert (await client.get(path, headers=owner_headers)).json() == owner
    assert (await client.get(path, headers=admin)).json() == owner
    problem(await client.get(path, headers=stranger), 404, "not-found")


async def test_malformed_and_unknown_ids_are_404(client, api) -> None:
    admin = await api.admin_headers()
    problem(await client.get("/v1/users/not-a-uuid", headers=admin), 404, "not-found")
    problem(await client.get("/v1/users/01890a5d-ac96-774b-bcce-b302099a8057", headers=admin),
            404, "not-found")


async def test_read_during_deletion_is_200_or_404_never_500(client, api, db_conn) -> None:
    user = await api.register()
    admin = await api.admin_headers()

    async def delete() -> None:
        await db_conn.execute("DELETE FROM identity.users WHERE id = %s", (user["id"],))

    results = await asyncio.gather(*(client.get(f"/v1/users/{user['id']}", headers=admin)
                                     for _ in range(5)), delete())
    assert {r.status_code for r in results[:5]} <= {200, 404}
