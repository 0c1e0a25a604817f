"""get_me: GET /v1/users/me."""

from __future__ import annotations

import asyncio

from shared.auth.principal import Principal
from shared.auth.tokens import TokenService, generate_secret_paserk
from tests.fixtures import problem


async def test_returns_the_callers_account(client, api) -> None:
    headers = await api.user_headers()
    response = await client.get("/v1/users/me", headers=headers)
    assert response.status_code == 200
    assert set(response.json()) == {"id", "email", "name", "role", "created_at"}


async def test_concurrent_reads_agree(client, api) -> None:
    headers = await api.user_headers()
    responses = await asyncio.gather(*(client.get("/v1/users/me", headers=headers)
                                       for _ in range(10)))
    assert len({r.text for r in responses}) == 1 and responses[0].status_code == 200


async def test_missing_or_bad_tokens_are_401_with_a_challenge(client, api) -> None:
    user = await api.register()
    forged = TokenService(generate_secret_paserk(), kid="k1", ttl=900).issue(
        Principal(user_id=user["id"], role="admin"))
    unknown_kid = TokenService(generate_secret_paserk(), kid="other", ttl=900).issue(
        Principal(user_id=user["id"], role="admin"))
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer not-a-token"},
                    {"Authorization": f"Bearer {forged}"},
                    {"Authorization": f"Bearer {unknown_kid}"}):
        response = await client.get("/v1/users/me", headers=headers)
        problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_deleted_account_is_404(client, api, db_conn) -> None:
    headers = await api.user_headers()
    me = (await client.get("/v1/users/me", headers=headers)).json()
    await db_conn.execute("DELETE FROM identity.users WHERE id = %s", (me["id"],))
    problem(await client.get("/v1/users/me", headers=headers), 404, "not-found")
