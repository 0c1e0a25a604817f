"""create_api_key: POST /v1/api-keys."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import pytest

from features.identity.api_keys import hash_secret
from features.identity.create_api_key import handler as create_handler
from features.identity.create_api_key import logic
from shared.auth.principal import Principal
from shared.http.problems import Problem
from shared.logging import configure_logging, flush_logs
from tests.fixtures import problem


async def create_key(client, headers, **body) -> dict:
    response = await client.post("/v1/api-keys", headers=headers, json={"name": "ci", **body})
    assert response.status_code == 201, response.text
    return response.json()


def key_headers(key: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['secret']}"}


# -- logic (pure) ---------------------------------------------------------------------------

def test_a_key_gets_at_most_its_creators_role() -> None:
    customer = Principal(user_id=__import__("uuid").uuid4(), role="customer")
    admin = Principal(user_id=customer.user_id, role="admin")
    assert logic.key_role(customer, None) == "customer"
    assert logic.key_role(admin, None) == "admin"
    assert logic.key_role(admin, "customer") == "customer"
    with pytest.raises(Problem) as caught:
        logic.key_role(customer, "admin")
    assert caught.value.status == 403


# -- HTTP, on a real database -----------------------------------------------------------------

async def test_the_secret_is_shown_once_and_authenticates_as_its_owner(client, api,
                                                                       db_conn) -> None:
    headers = await api.user_headers()
    me = (await client.get("/v1/users/me", headers=headers)).json()
    response = await client.post("/v1/api-keys", headers=headers, json={"name": " deploy bot "})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    key = response.json()
    assert set(key) == {"id", "name", "role", "prefix", "created_at", "expires_at", "secret"}
    assert key["name"] == "deploy bot" and key["role"] == "customer"
    assert key["secret"].startswith("rk_") and len(key["secret"]) == 3 + 43
    assert key["secret"].startswith(key["prefix"]) and len(key["prefix"]) == 11
    assert key["expires_at"] is None and key["created_at"].endswith("Z")
    # Stored as a hash and a prefix only.
    row = await (await db_conn.execute(
        "SELECT * FROM identity.api_keys WHERE id = %s", (key["id"],))).fetchone()
    assert row["key_hash"] == hash_secret(key["secret"])
    assert key["secret"] not in {str(v) for v in row.values()}
    as_key = await client.get("/v1/users/me", headers=key_headers(key))
    assert as_key.status_code == 200 and as_key.json()["id"] == me["id"]


async def test_a_customer_cannot_make_an_admin_key(client, api) -> None:
    headers = await api.user_headers()
    problem(await client.post("/v1/api-keys", headers=headers,
                              json={"name": "x", "role": "admin"}), 403, "forbidden")


async def test_an_admin_key_made_for_a_customer_role_cannot_do_admin_work(client, api) -> None:
    headers = await api.admin_headers()
    admin_key = await create_key(client, headers)
    customer_key = await create_key(client, headers, role="customer")
    assert admin_key["role"] == "admin" and customer_key["role"] == "customer"
    assert (await client.get("/v1/users", headers=key_headers(admin_key))).status_code == 200
    problem(await client.get("/v1/users", headers=key_headers(customer_key)), 403, "forbidden")


async def test_a_key_cannot_mint_keys(client, api) -> None:
    key = await create_key(client, await api.user_headers())
    problem(await client.post("/v1/api-keys", headers=key_headers(key), json={"name": "y"}),
            403, "forbidden")


async def test_a_demoted_owners_token_still_cannot_make_an_admin_key(client, api,
                                                                     db_conn) -> None:
    headers = await api.admin_headers()  # the token says admin for 15 more minutes...
    me = (await client.get("/v1/users/me", headers=headers)).json()
    await db_conn.execute("UPDATE identity.users SET role = 'customer' WHERE id = %s",
                          (me["id"],))
    # ... but the database is asked, not the token.
    problem(await client.post("/v1/api-keys", headers=headers,
                              json={"name": "x", "role": "admin"}), 403, "forbidden")


async def test_two_keys_made_at_once_are_two_keys(client, api) -> None:
    headers = await api.user_headers()
    first, second = await asyncio.gather(*(client.post(
        "/v1/api-keys", headers=headers, json={"name": "same name"}) for _ in range(2)))
    assert first.status_code == second.status_code == 201
    a, b = first.json(), second.json()
    assert a["prefix"] != b["prefix"] and a["secret"] != b["secret"]
    for key in (a, b):
        assert (await client.get("/v1/users/me", headers=key_headers(key))).status_code == 200


async def test_a_prefix_collision_is_retried_not_a_500(client, api, monkeypatch) -> None:
    headers = await api.user_headers()
    taken = await create_key(client, headers)
    fresh = iter([taken["secret"], "rk_" + "B" * 43])
    monkeypatch.setattr(create_handler, "new_secret", lambda: next(fresh))
    second = await create_key(client, headers)  # the unique index refused the first try
    assert second["secret"] == "rk_" + "B" * 43


async def test_the_secret_never_reaches_a_log_line(client, api) -> None:
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer)
    try:
        key = await create_key(client, await api.user_headers())
        await client.get("/v1/users/me", headers=key_headers(key))
        await client.get("/v1/users/me", headers={"Authorization": f"Bearer {key['secret']}x"})
        flush_logs()
    finally:
        configure_logging("WARNING")
    text = buffer.getvalue()
    assert '"route": "/v1/users/me"' in text or "/v1/users/me" in text
    assert key["secret"] not in text and key["secret"][11:] not in text
    metrics = (await client.get("/metrics")).text
    assert key["secret"][11:] not in metrics


@pytest.mark.parametrize(("body", "pointer"), [
    ({}, "#/name"),
    ({"name": ""}, "#/name"),
    ({"name": "   "}, "#/name"),
    ({"name": "n" * 101}, "#/name"),
    ({"name": 7}, "#/name"),
    ({"name": "x", "role": "root"}, "#/role"),
    ({"name": "x", "expires_at": "2999-01-01T00:00:00"}, "#/expires_at"),  # no time zone
    ({"name": "x", "expires_at": "tomorrow"}, "#/expires_at"),
    ({"name": "x", "secret": "rk_mine"}, "#/secret"),
])
async def test_invalid_bodies_are_400(client, api, body, pointer) -> None:
    headers = await api.user_headers()
    body = problem(await client.post("/v1/api-keys", headers=headers, json=body),
                   400, "validation-error")
    assert body["errors"][0]["pointer"] == pointer, body


async def test_an_expiry_in_the_past_is_422(client, api) -> None:
    body = problem(await client.post("/v1/api-keys", headers=await api.user_headers(), json={
        "name": "x", "expires_at": "2020-01-01T00:00:00Z"}), 422, "unprocessable")
    assert body["errors"][0]["pointer"] == "#/expires_at"


async def test_an_expiry_in_the_future_is_kept(client, api) -> None:
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    key = await create_key(client, await api.user_headers(),
                           expires_at=expires.isoformat().replace("+00:00", "Z"))
    assert datetime.fromisoformat(key["expires_at"]) == expires
