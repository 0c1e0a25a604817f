"""start_oidc_login: GET /v1/auth/oidc/{provider}/authorize."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from features.identity.oidc_provider_testing import CLIENT_ID, REDIRECT_URI, oidc_settings
from features.identity.start_oidc_login import logic
from tests.fixtures import make_settings, problem

AUTHORIZE = "/v1/auth/oidc/mock/authorize"


@pytest.fixture
def settings(provider):
    return make_settings(**oidc_settings(provider.issuer))


def test_each_attempt_has_fresh_secrets_of_pkce_length() -> None:
    a, b = logic.new_attempt(), logic.new_attempt()
    assert len({a.state, a.nonce, a.code_verifier, a.browser, b.state}) == 5
    assert 43 <= len(a.code_verifier) <= 128


async def test_redirects_to_the_provider_with_state_nonce_and_pkce(client, provider,
                                                                   db_conn) -> None:
    response = await client.get(AUTHORIZE, params={"redirect_uri": REDIRECT_URI})
    assert response.status_code == 302, response.text
    assert response.headers["cache-control"] == "no-store"
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == provider.issuer
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT_URI and "openid" in query["scope"].split()
    assert query["code_challenge_method"] == "S256"
    row = await (await db_conn.execute("SELECT * FROM identity.oidc_states")).fetchone()
    # Stored: the state's hash only; the verifier whose S256 challenge went out; the nonce.
    assert row["state_hash"] == logic.digest(query["state"])
    assert query["code_challenge"] == create_s256_code_challenge(row["code_verifier"])
    assert row["nonce"] == query["nonce"]
    assert "code_verifier" not in query
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("rampart_oidc_mock=")
    for attribute in ("HttpOnly", "Path=/v1/auth/oidc/mock/callback", "SameSite=lax",
                      "Max-Age=600"):
        assert attribute.lower() in cookie.lower(), cookie
    browser = cookie.split(";")[0].split("=", 1)[1]
    assert row["browser_hash"] == logic.digest(browser)


async def test_two_starts_at_once_are_two_sign_ins(client, provider, db_conn) -> None:
    responses = await asyncio.gather(*(client.get(AUTHORIZE, params={
        "redirect_uri": REDIRECT_URI}) for _ in range(2)))
    assert [r.status_code for r in responses] == [302, 302]
    states = {parse_qs(urlsplit(r.headers["location"]).query)["state"][0] for r in responses}
    assert len(states) == 2
    count = await (await db_conn.execute("SELECT count(*) AS n FROM identity.oidc_states")
                   ).fetchone()
    assert count["n"] == 2


async def test_an_expired_state_is_refused_and_swept(client, provider, db_conn) -> None:
    first = await client.get(AUTHORIZE, params={"redirect_uri": REDIRECT_URI})
    state = parse_qs(urlsplit(first.headers["location"]).query)["state"][0]
    await db_conn.execute("UPDATE identity.oidc_states SET expires_at = now() - interval '1s'")
    problem(await client.get("/v1/auth/oidc/mock/callback", params={
        "code": "x", "state": state}), 400, "validation-error")
    await client.get(AUTHORIZE, params={"redirect_uri": REDIRECT_URI})  # sweeps it
    count = await (await db_conn.execute("SELECT count(*) AS n FROM identity.oidc_states")
                   ).fetchone()
    assert count["n"] == 1


@pytest.mark.parametrize("params", [
    {}, {"redirect_uri": ""}, {"redirect_uri": "https://evil.example/steal"},
    {"redirect_uri": REDIRECT_URI + "?x=1"}, {"redirect_uri": "x" * 2001},
])
async def test_only_a_registered_redirect_uri_is_accepted(client, provider, params) -> None:
    body = problem(await client.get(AUTHORIZE, params=params), 400, "validation-error")
    assert body["errors"][0].get("parameter") == "redirect_uri", body


async def test_an_unknown_provider_is_404(client) -> None:
    problem(await client.get("/v1/auth/oidc/nope/authorize", params={
        "redirect_uri": REDIRECT_URI}), 404, "not-found")
