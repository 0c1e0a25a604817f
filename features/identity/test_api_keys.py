"""API keys as credentials: what admission does with `Bearer rk_...` (features/identity/
api_keys.py), across the slices that make, list and revoke them."""

from __future__ import annotations

import pytest

from features.identity.api_keys import ApiKeys, effective_role
from features.identity.create_api_key.test_create_api_key import create_key, key_headers
from shared.auth.tokens import InvalidToken
from tests.fixtures import make_settings, problem


@pytest.fixture
def settings():
    return make_settings(rate_limit_user="3/minute", api_key_cache_seconds="30")


def test_a_key_never_outranks_its_owner() -> None:
    assert effective_role("admin", "admin") == "admin"
    assert effective_role("admin", "customer") == "customer"
    assert effective_role("customer", "admin") == "customer"


async def test_a_key_has_its_own_rate_limit_bucket(client, api) -> None:
    headers = await api.user_headers()
    key = await create_key(client, headers)  # the owner's first request of three
    for _ in range(2):
        assert (await client.get("/v1/users/me", headers=headers)).status_code == 200
    problem(await client.get("/v1/users/me", headers=headers), 429, "rate-limited")
    as_key = await client.get("/v1/users/me", headers=key_headers(key))
    assert as_key.status_code == 200
    assert as_key.headers["ratelimit"].startswith('"user";r=2;')


async def test_an_expired_key_is_refused(client, api, db_conn) -> None:
    key = await create_key(client, await api.user_headers(), expires_at="2999-01-01T00:00:00Z")
    await db_conn.execute("UPDATE identity.api_keys SET created_at = now() - interval '2 hours',"
                          " expires_at = now() - interval '1 hour' WHERE id = %s", (key["id"],))
    problem(await client.get("/v1/users/me", headers=key_headers(key)), 401, "unauthenticated")


async def test_a_demoted_owners_admin_key_acts_as_a_customer(app, client, api, db_conn) -> None:
    key = await create_key(client, await api.admin_headers())
    owner = (await client.get("/v1/users/me", headers=key_headers(key))).json()
    await db_conn.execute("UPDATE identity.users SET role = 'customer' WHERE id = %s",
                          (owner["id"],))
    fresh = ApiKeys(app.state.db, ttl=30)  # a process that has not cached it
    assert (await fresh.authenticate(key["secret"])).role == "customer"


async def test_a_revocation_reaches_another_process_within_the_cache_period(app, client,
                                                                             api) -> None:
    headers = await api.user_headers()
    key = await create_key(client, headers)
    now = [1000.0]
    other = ApiKeys(app.state.db, ttl=30, clock=lambda: now[0])
    principal = await other.authenticate(key["secret"])
    assert principal.api_key_id is not None and str(principal.api_key_id) == key["id"]
    assert (await client.delete(f"/v1/api-keys/{key['id']}", headers=headers)).status_code == 204
    now[0] += 29.9  # within the stated bound the other process may still accept it ...
    assert await other.authenticate(key["secret"]) == principal
    now[0] += 0.2  # ... and past it, never
    with pytest.raises(InvalidToken):
        await other.authenticate(key["secret"])


async def test_an_unknown_key_is_remembered_as_refused(app, client) -> None:
    """A flood of made-up keys costs one statement per key per period, not per request."""
    now = [0.0]
    keys = ApiKeys(app.state.db, ttl=30, clock=lambda: now[0])
    made_up = "rk_" + "Z" * 43
    for _ in range(3):
        with pytest.raises(InvalidToken):
            await keys.authenticate(made_up)
    assert len(keys._cache) == 1 and keys._cache[next(iter(keys._cache))][0] is None


@pytest.mark.parametrize("credential", [b"rk_", b"rk_short", b"rk_" + b"A" * 500,
                                        "rk_é".encode() * 3, b"rk_\xff\xfe"])
async def test_malformed_keys_are_the_same_401(client, credential) -> None:
    problem(await client.get("/v1/users/me", headers={"Authorization": b"Bearer " + credential}),
            401, "unauthenticated")
