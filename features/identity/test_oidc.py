"""The OpenID Connect client (features/identity/oidc.py): ID-token checks on tokens the real
provider on loopback signed, and what a provider that is down or slow looks like."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from purgatory import AsyncCircuitBreakerFactory

from features.identity.oidc import InvalidIdToken, OidcClient, ProviderDown
from features.identity.oidc_provider_testing import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    oidc_settings,
    running_provider,
    serving,
)
from shared.app import create_app
from shared.settings import OidcProvider
from tests.fixtures import free_port, make_settings, problem

AUTHORIZE = "/v1/auth/oidc/mock/authorize"


def oidc_client(issuer: str, client_id: str = CLIENT_ID, timeout: float = 2.0) -> OidcClient:
    config = OidcProvider(name="mock", issuer=issuer, client_id=client_id,
                          client_secret=CLIENT_SECRET, redirect_uris=(REDIRECT_URI,))
    return OidcClient(config, timeout=timeout, breakers=AsyncCircuitBreakerFactory())


async def real_id_token(provider, client: OidcClient, nonce: str = "nonce-1",
                        sub: str = "zed") -> str:
    """What the provider's token endpoint hands out for a sign-in that really happened."""
    await provider.set_user(sub, email=f"{sub}@idp.example", email_verified=True)
    verifier = "v" * 64
    url = await client.authorization_url(REDIRECT_URI, state="st", nonce=nonce,
                                         code_verifier=verifier)
    back = await provider.consent(url, sub)
    return await client.exchange(back["code"], redirect_uri=REDIRECT_URI, code_verifier=verifier)


async def refused(client: OidcClient, token: str, nonce: str = "nonce-1") -> str:
    with pytest.raises(InvalidIdToken) as caught:
        await client.verify(token, nonce=nonce)
    return caught.value.reason


async def test_a_genuine_token_passes_every_check(provider) -> None:
    client = oidc_client(provider.issuer)
    claims = await client.verify(await real_id_token(provider, client), nonce="nonce-1")
    assert claims["sub"] == "zed" and CLIENT_ID in claims["aud"]
    assert claims["iss"] == provider.issuer


async def test_a_token_for_another_audience_is_refused(provider) -> None:
    token = await real_id_token(provider, oidc_client(provider.issuer, client_id="other-app"))
    assert "aud" in await refused(oidc_client(provider.issuer), token)


async def test_a_token_from_another_issuer_is_refused(provider) -> None:
    token = await real_id_token(provider, oidc_client(provider.issuer))
    # The same server under another name is, to OpenID Connect, another issuer.
    other = oidc_client(provider.issuer.replace("localhost", "127.0.0.1"))
    assert "iss" in await refused(other, token)


async def test_a_nonce_that_is_not_ours_is_refused(provider) -> None:
    client = oidc_client(provider.issuer)
    token = await real_id_token(provider, client, nonce="theirs")
    assert "nonce" in await refused(client, token, nonce="ours")


async def test_expiry_allows_a_small_skew_and_no_more() -> None:
    with running_provider(token_max_age=timedelta(seconds=-20)) as lately:
        client = oidc_client(lately.issuer)
        assert (await client.verify(await real_id_token(lately, client), nonce="nonce-1"))
    with running_provider(token_max_age=timedelta(seconds=-300)) as stale:
        client = oidc_client(stale.issuer)
        assert "expired" in await refused(client, await real_id_token(stale, client))


async def test_a_kid_the_provider_does_not_publish_is_refused(provider) -> None:
    client = oidc_client(provider.issuer)
    await client.verify(await real_id_token(provider, client), nonce="nonce-1")  # keys cached
    now = int(time.time())
    forged = jwt.encode({"alg": "RS256", "kid": "not-published"},
                        {"iss": provider.issuer, "aud": CLIENT_ID, "sub": "zed", "iat": now,
                         "exp": now + 60, "nonce": "nonce-1"}, RSAKey.generate_key(2048))
    assert await refused(client, forged) == "unknown kid"


async def test_a_token_signed_with_a_key_no_longer_published_is_refused(provider) -> None:
    client = oidc_client(provider.issuer)
    old = provider.rotate_key()
    token = await real_id_token(provider, client)  # signed with the new key ...
    provider.storage.jwk = old  # ... which the provider stops publishing
    try:
        assert "signature" in await refused(client, token)
    finally:
        provider.rotate_key()


async def test_symmetric_and_unsigned_tokens_are_refused(provider) -> None:
    client = oidc_client(provider.issuer)
    now = int(time.time())
    claims = {"iss": provider.issuer, "aud": CLIENT_ID, "sub": "zed", "iat": now,
              "exp": now + 60, "nonce": "nonce-1"}
    # HS256 keyed with the client secret: anyone holding the secret could mint sign-ins.
    hs = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(CLIENT_SECRET * 2))
    assert "signature" in await refused(client, hs)
    assert await refused(client, "not.a.jwt") == "malformed"


# -- the provider down --------------------------------------------------------------------------

async def test_an_unreachable_provider_is_503_and_its_circuit_opens(database_url) -> None:
    port = free_port()
    app = create_app(make_settings(**oidc_settings(f"http://localhost:{port}")),
                     database_url=database_url)
    async with serving(app) as client:
        for _ in range(5):
            response = await client.get(AUTHORIZE, params={"redirect_uri": REDIRECT_URI})
            problem(response, 503, "service-unavailable")
            assert int(response.headers["retry-after"]) >= 1
        with running_provider(port):  # back up, but the circuit is open: not even tried
            response = await client.get(AUTHORIZE, params={"redirect_uri": REDIRECT_URI})
            problem(response, 503, "service-unavailable")
            assert 1 <= int(response.headers["retry-after"]) <= 31


async def test_a_provider_that_never_answers_times_out_as_503(database_url) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections (the backlog) and never says a word
        issuer = f"http://127.0.0.1:{silent.getsockname()[1]}"
        app = create_app(make_settings(**oidc_settings(issuer, oidc_timeout_ms=200)),
                         database_url=database_url)
        async with serving(app) as client:
            response = await client.get(AUTHORIZE, params={"redirect_uri": REDIRECT_URI})
    problem(response, 503, "service-unavailable")
    assert response.headers["retry-after"]


async def test_a_discovery_document_for_another_issuer_is_503(provider, database_url) -> None:
    app = create_app(make_settings(**oidc_settings(provider.issuer + "/tenant")),
                     database_url=database_url)
    async with serving(app) as client:
        problem(await client.get(AUTHORIZE, params={"redirect_uri": REDIRECT_URI}), 503,
                "service-unavailable")


async def test_down_at_the_provider_directly(provider) -> None:
    client = oidc_client(f"http://localhost:{free_port()}", timeout=0.5)
    with pytest.raises(ProviderDown):
        await client.metadata()


# -- configuration --------------------------------------------------------------------------

def provider_env(**more: str) -> dict[str, str]:
    return {"OIDC_PROVIDERS": "google, my-idp",
            "OIDC_GOOGLE_ISSUER": "https://accounts.google.com",
            "OIDC_GOOGLE_CLIENT_ID": "g-id", "OIDC_GOOGLE_CLIENT_SECRET": "g-secret",
            "OIDC_GOOGLE_REDIRECT_URIS": "https://api.example/v1/auth/oidc/google/callback",
            "OIDC_MY_IDP_ISSUER": "https://idp.example/realms/x/",
            "OIDC_MY_IDP_CLIENT_ID": "m-id",
            "OIDC_MY_IDP_REDIRECT_URIS": "https://a.example/cb, https://b.example/cb", **more}


def test_providers_are_read_from_the_environment() -> None:
    from shared.settings import load_settings

    google, mine = load_settings(provider_env()).oidc_providers
    assert (google.name, google.client_secret) == ("google", "g-secret")
    assert mine.issuer == "https://idp.example/realms/x/"  # exactly as the provider spells it
    assert mine.client_secret == "" and mine.redirect_uris == ("https://a.example/cb",
                                                               "https://b.example/cb")


@pytest.mark.parametrize(("change", "named"), [
    ({"OIDC_GOOGLE_CLIENT_ID": ""}, "OIDC_GOOGLE_CLIENT_ID"),
    ({"OIDC_MY_IDP_ISSUER": "idp.example"}, "OIDC_MY_IDP_ISSUER"),
    ({"OIDC_MY_IDP_REDIRECT_URIS": "https://a.example/cb#x"}, "OIDC_MY_IDP_REDIRECT_URIS"),
    ({"OIDC_PROVIDERS": "Google"}, "OIDC_PROVIDERS"),
    ({"OIDC_TIMEOUT_MS": "0"}, "OIDC_TIMEOUT_MS"),
    ({"API_KEY_CACHE_SECONDS": "-1"}, "API_KEY_CACHE_SECONDS"),
])
def test_a_bad_provider_setting_is_named(change, named) -> None:
    from shared.settings import SettingsError, load_settings

    with pytest.raises(SettingsError) as caught:
        load_settings(provider_env(**change))
    assert str(caught.value).startswith(named), caught.value
    assert "\n" not in str(caught.value)


def test_production_wants_https_issuers() -> None:
    from shared.settings import SettingsError, load_settings
    from tests.fixtures import TEST_SIGNING_KEY

    env = provider_env(OIDC_GOOGLE_ISSUER="http://accounts.google.com", APP_ENV="production",
                       DATABASE_URL="postgresql://db/x", TOKEN_SIGNING_KEY=TEST_SIGNING_KEY)
    with pytest.raises(SettingsError, match="OIDC_GOOGLE_ISSUER"):
        load_settings(env)


async def test_a_provider_gone_between_authorize_and_callback_is_503(database_url) -> None:
    with running_provider() as mock:
        app = create_app(make_settings(**oidc_settings(mock.issuer)), database_url=database_url)
        async with serving(app) as client:
            start = await client.get(AUTHORIZE, params={"redirect_uri": REDIRECT_URI})
            back = await mock.consent(start.headers["location"], "kim")
            mock.server.shutdown()  # the person is back; the provider is not
            mock.server.server_close()
            response = await client.get("/v1/auth/oidc/mock/callback", params=back)
    problem(response, 503, "service-unavailable")
    assert int(response.headers["retry-after"]) >= 1
