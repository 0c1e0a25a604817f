"""finish_oidc_login: GET /v1/auth/oidc/{provider}/callback, against a real OpenID Connect
provider on loopback (features/identity/oidc_provider_testing.py)."""

from __future__ import annotations

import asyncio
import io
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from features.identity.finish_oidc_login import logic
from features.identity.oidc_provider_testing import CLIENT_SECRET, REDIRECT_URI, oidc_settings
from shared.http.problems import Problem
from shared.logging import configure_logging, flush_logs
from tests.fixtures import make_settings, problem

AUTHORIZE = "/v1/auth/oidc/mock/authorize"
CALLBACK = "/v1/auth/oidc/mock/callback"


@pytest.fixture
def settings(provider):
    return make_settings(**oidc_settings(provider.issuer))


async def start(client: httpx.AsyncClient) -> str:
    response = await client.get(AUTHORIZE, params={"redirect_uri": REDIRECT_URI})
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def sign_in(client, provider, sub: str) -> httpx.Response:
    back = await provider.consent(await start(client), sub)
    return await client.get(CALLBACK, params=back)


def second_browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser on the same server: no cookies of the first."""
    return httpx.AsyncClient(transport=client._transport, base_url=client.base_url)


async def person(provider, sub: str, email: str | None = None, verified: bool = True) -> str:
    email = email or f"{sub}@idp.example"
    await provider.set_user(sub, email=email, email_verified=verified, name=f"Person {sub}")
    return email


# -- logic (pure) ---------------------------------------------------------------------------

def test_an_account_with_a_password_is_never_linked_silently() -> None:
    with pytest.raises(Problem) as caught:
        logic.decide(False, "a@b.c", {"has_password": True})
    assert caught.value.status == 409
    assert logic.decide(False, "a@b.c", {"has_password": False}) == "link"
    assert logic.decide(False, "a@b.c", None) == "create"
    assert logic.decide(True, None, None) == "sign_in"
    with pytest.raises(Problem):
        logic.decide(False, None, None)


def test_only_a_verified_email_counts() -> None:
    assert logic.verified_email({"email": "a@b.c", "email_verified": True}) == "a@b.c"
    assert logic.verified_email({"email": "a@b.c", "email_verified": "true"}) == "a@b.c"
    assert logic.verified_email({"email": "a@b.c"}) is None
    assert logic.verified_email({"email": "a@b.c", "email_verified": False}) is None
    assert logic.verified_email({"email": ["a@b.c"], "email_verified": True}) is None


# -- the round trip ---------------------------------------------------------------------------

async def test_a_new_person_signs_in_and_becomes_a_customer(client, provider, db_conn) -> None:
    email = await person(provider, "alice")
    response = await sign_in(client, provider, "alice")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    pair = response.json()
    assert set(pair) == {"access_token", "token_type", "expires_in", "refresh_token"}
    me = (await client.get("/v1/users/me", headers={
        "Authorization": f"Bearer {pair['access_token']}"})).json()
    assert me["email"] == email and me["role"] == "customer" and me["name"] == "Person alice"
    user = await (await db_conn.execute("SELECT password_hash FROM identity.users WHERE id = %s",
                                        (me["id"],))).fetchone()
    assert user["password_hash"] is None  # no password: it cannot log in with one
    event = await (await db_conn.execute(
        "SELECT type FROM kernel.outbox_events WHERE aggregate_id = %s", (me["id"],))).fetchone()
    assert event["type"] == "UserRegistered"
    # The refresh token works like any other.
    assert (await client.post("/v1/auth/refresh", json={
        "refresh_token": pair["refresh_token"]})).status_code == 200
    # Signing in again is the same account.
    again = await sign_in(client, provider, "alice")
    assert again.status_code == 200
    me_again = (await client.get("/v1/users/me", headers={
        "Authorization": f"Bearer {again.json()['access_token']}"})).json()
    assert me_again["id"] == me["id"]


async def test_a_second_identity_links_to_an_account_without_a_password(client, provider,
                                                                       db_conn) -> None:
    email = await person(provider, "bob-work")
    first = await sign_in(client, provider, "bob-work")
    await person(provider, "bob-home", email=email.upper())
    second = await sign_in(client, provider, "bob-home")
    assert first.status_code == second.status_code == 200
    rows = await (await db_conn.execute(
        "SELECT subject, user_id FROM identity.oidc_identities ORDER BY subject")).fetchall()
    assert [r["subject"] for r in rows] == ["bob-home", "bob-work"]
    assert rows[0]["user_id"] == rows[1]["user_id"]


async def test_a_takeover_of_a_password_account_is_refused(client, api, provider,
                                                           db_conn) -> None:
    victim = await api.register(email="victim@example.com")
    await person(provider, "attacker", email="Victim@Example.com")  # "verified" by their IdP
    body = problem(await sign_in(client, provider, "attacker"), 409, "conflict")
    assert "password" in body["detail"]
    links = await (await db_conn.execute(
        "SELECT count(*) AS n FROM identity.oidc_identities")).fetchone()
    assert links["n"] == 0
    assert (await api.login(victim["email"]))["access_token"]  # the victim is untouched


async def test_an_unverified_email_makes_no_account(client, provider, db_conn) -> None:
    await person(provider, "carol", verified=False)
    problem(await sign_in(client, provider, "carol"), 422, "unprocessable")
    users = await (await db_conn.execute("SELECT count(*) AS n FROM identity.users")).fetchone()
    assert users["n"] == 0


# -- the state --------------------------------------------------------------------------------

async def test_a_state_is_single_use(client, provider) -> None:
    await person(provider, "dave")
    back = await provider.consent(await start(client), "dave")
    assert (await client.get(CALLBACK, params=back)).status_code == 200
    replay = problem(await client.get(CALLBACK, params=back), 400, "validation-error")
    assert replay["errors"][0]["parameter"] == "state"


async def test_two_callbacks_with_one_state_at_once_one_wins(client, provider) -> None:
    await person(provider, "erin")
    back = await provider.consent(await start(client), "erin")
    responses = await asyncio.gather(*(client.get(CALLBACK, params=back) for _ in range(2)))
    assert sorted(r.status_code for r in responses) == [200, 400]


async def test_a_state_from_another_browser_is_refused(client, provider) -> None:
    """Login CSRF: the attacker's own code and state, replayed in the victim's browser."""
    await person(provider, "mallory")
    back = await provider.consent(await start(client), "mallory")
    async with second_browser(client) as victim:
        problem(await victim.get(CALLBACK, params=back), 400, "validation-error")
    # It stays usable in the browser that started it: the refusal spent nothing.
    assert (await client.get(CALLBACK, params=back)).status_code == 200


@pytest.mark.parametrize("params", [{}, {"code": "x"}, {"code": "x", "state": "made-up"},
                                    {"code": "x", "state": "s" * 2049}])
async def test_a_missing_or_unknown_state_is_400(client, provider, params) -> None:
    await start(client)  # a cookie is there: the state is what is wrong
    problem(await client.get(CALLBACK, params=params), 400, "validation-error")


async def test_two_first_sign_ins_of_one_person_at_once_make_one_account(client, provider,
                                                                         db_conn) -> None:
    await person(provider, "frank")
    async with second_browser(client) as other:
        backs = [await provider.consent(await start(c), "frank") for c in (client, other)]
        responses = await asyncio.gather(client.get(CALLBACK, params=backs[0]),
                                         other.get(CALLBACK, params=backs[1]))
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    users = await (await db_conn.execute("SELECT count(*) AS n FROM identity.users")).fetchone()
    assert users["n"] == 1


# -- what the provider says, and the ID token --------------------------------------------------

async def test_a_declined_sign_in_is_401(client, provider) -> None:
    back = await provider.deny(await start(client))
    assert back["error"] == "access_denied"
    problem(await client.get(CALLBACK, params=back), 401, "unauthenticated")


async def test_a_provider_error_spends_the_state(client, provider) -> None:
    state = parse_qs(urlsplit(await start(client)).query)["state"][0]
    problem(await client.get(CALLBACK, params={"error": "server_error", "state": state}), 401,
            "unauthenticated")
    problem(await client.get(CALLBACK, params={"code": "x", "state": state}), 400,
            "validation-error")


async def test_a_code_the_provider_does_not_know_is_401(client, provider) -> None:
    back = await provider.consent(await start(client), "gina")
    problem(await client.get(CALLBACK, params={**back, "code": "forged"}), 401,
            "unauthenticated")


async def test_a_nonce_mismatch_is_refused(client, provider) -> None:
    """A code minted for another authorization request (another nonce) is not accepted."""
    await person(provider, "hank")
    parts = urlsplit(await start(client))
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["nonce"] = "the-attackers-nonce"
    back = await provider.consent(urlunsplit(parts._replace(query=urlencode(query))), "hank")
    problem(await client.get(CALLBACK, params=back), 401, "unauthenticated")


async def test_a_rotated_provider_key_is_fetched_once_and_accepted(client, provider) -> None:
    await person(provider, "ivy")
    assert (await sign_in(client, provider, "ivy")).status_code == 200  # the JWKS is cached
    provider.rotate_key()
    assert (await sign_in(client, provider, "ivy")).status_code == 200


async def test_failures_log_a_cause_and_never_a_secret(client, provider) -> None:
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer)
    try:
        await person(provider, "jack")
        back = await provider.consent(await start(client), "jack")
        ok = await client.get(CALLBACK, params=back)
        replay = await client.get(CALLBACK, params=back)
        flush_logs()
    finally:
        configure_logging("WARNING")
    assert ok.status_code == 200 and replay.status_code == 400
    text = buffer.getvalue()
    assert "oidc_signed_in" in text and "oidc_state_rejected" in text
    for secret in (back["code"], back["state"], CLIENT_SECRET, ok.json()["access_token"],
                   ok.json()["refresh_token"]):
        assert secret not in text


async def test_unknown_provider_is_404(client) -> None:
    problem(await client.get("/v1/auth/oidc/nope/callback", params={"code": "x", "state": "y"}),
            404, "not-found")
