"""OpenID Connect providers: discovery, keys, the code exchange and ID-token checks.

The protocol and the cryptography are the libraries': Authlib builds the authorization URL,
the PKCE S256 challenge and the token request (RFC 6749, RFC 7636); joserfc verifies the ID
token's signature and claims. This file decides when to fetch, what to cache and what counts
as the provider being down, and sends the requests with httpx (Authlib's own httpx client is
moving to another HTTP package; its protocol functions are transport-free).

- Discovery (`/.well-known/openid-configuration`) is cached for an hour; its `issuer` must be
  the configured one exactly (OpenID Connect Discovery 1.0, section 4.3).
- The JWKS is cached until an ID token names a `kid` it lacks: then it is fetched again once
  (concurrent callbacks share one fetch) and a `kid` still missing is refused. The ID token
  comes from the provider's token endpoint over the back channel, never from the browser, so
  a caller cannot force refetches with made-up `kid`s.
- Every call has a timeout (`OIDC_TIMEOUT_MS`) and goes through a circuit breaker per
  provider (purgatory): after 5 failures in a row (unreachable, timed out, 5xx) the provider is
  not called for 30 seconds, and callers get 503 with Retry-After at once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import structlog
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

from shared.http.problems import Problem, not_found, unauthenticated
from shared.settings import OidcProvider, Settings

SCOPE = "openid email profile"
LEEWAY = 60  # seconds of clock skew allowed on exp/iat/nbf
DISCOVERY_TTL = 3600.0
BREAKER_THRESHOLD, BREAKER_TTL = 5, 30
RETRY_AFTER = 5  # after a single failure, while the breaker is still closed
# Asymmetric algorithms only: "none" and HS256 (keyed with the client secret) are refused.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA"]
STATE_KEY = "identity_oidc"
log = structlog.get_logger("rampart.identity.oidc")
FORM = "application/x-www-form-urlencoded"


class ProviderDown(Exception):
    """Unreachable, too slow, a 5xx, or its circuit is open: the caller may retry later."""

    def __init__(self, reason: str, retry_after: int = RETRY_AFTER) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class ProviderRefused(Exception):
    """The provider answered, and said no (an OAuth error such as invalid_grant)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class InvalidIdToken(Exception):
    """The ID token failed a check; `reason` names which (for the log, not the caller)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OidcClient:
    def __init__(self, provider: OidcProvider, *, timeout: float,
                 breakers: AsyncCircuitBreakerFactory) -> None:
        self.provider = provider
        self.timeout = timeout
        self.breakers = breakers
        self._metadata: tuple[dict[str, Any], float] | None = None
        self._keys: KeySet | None = None
        self._keys_lock = asyncio.Lock()

    # -- the calls out, each behind the breaker ---------------------------------------------

    async def _guarded(self, call: Any) -> Any:
        try:
            breaker = await self.breakers.get_breaker(
                f"oidc:{self.provider.name}", exclude=[ProviderRefused, InvalidIdToken])
            async with breaker:
                return await call()
        except OpenedState as exc:
            left = int(exc.opened_at + BREAKER_TTL - time.time()) + 1
            raise ProviderDown("circuit open", max(1, left)) from None

    async def _call(self, method: str, url: str, **request: Any) -> tuple[int, dict[str, Any]]:
        """One request through the breaker: its status and JSON object body. Unreachable,
        timed out, a 5xx or a body that is not a JSON object count as the provider down."""

        async def call() -> tuple[int, dict[str, Any]]:
            try:
                async with httpx.AsyncClient(timeout=self.timeout) as http:
                    response = await http.request(method, url, **request)
            except httpx.TimeoutException:
                raise ProviderDown("timeout") from None
            except httpx.TransportError as exc:
                raise ProviderDown(type(exc).__name__) from None
            if response.status_code >= 500:
                raise ProviderDown(f"status {response.status_code}")
            try:
                body = response.json()
            except ValueError:
                raise ProviderDown(f"status {response.status_code}, not JSON") from None
            if not isinstance(body, dict):
                raise ProviderDown("not a JSON object")
            return response.status_code, body

        return await self._guarded(call)

    async def _get_json(self, url: str) -> dict[str, Any]:
        status, body = await self._call("GET", url, headers={"Accept": "application/json"})
        # A discovery document or key set that is not there (4xx) makes the provider as
        # unusable as one that is down, and no retry by the caller will fix it sooner.
        if status != 200:
            raise ProviderDown(f"status {status}")
        return body

    async def metadata(self) -> dict[str, Any]:
        cached = self._metadata
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        issuer = self.provider.issuer
        meta = await self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if meta.get("issuer") != issuer or not all(
                isinstance(meta.get(k), str) for k in ("authorization_endpoint",
                                                       "token_endpoint", "jwks_uri")):
            # A misconfiguration (or an impostor): as unusable as a provider that is down.
            raise ProviderDown("discovery document does not match the configured issuer")
        self._metadata = (meta, time.monotonic() + DISCOVERY_TTL)
        return meta

    async def authorization_url(self, redirect_uri: str, *, state: str, nonce: str,
                                code_verifier: str) -> str:
        meta = await self.metadata()
        return prepare_grant_uri(
            meta["authorization_endpoint"], self.provider.client_id, "code",
            redirect_uri=redirect_uri, scope=SCOPE, state=state, nonce=nonce,
            code_challenge=create_s256_code_challenge(code_verifier),
            code_challenge_method="S256")

    async def exchange(self, code: str, *, redirect_uri: str, code_verifier: str) -> str:
        """The ID token the provider gives for this code."""
        meta = await self.metadata()
        provider = self.provider
        body = prepare_token_request("authorization_code", code=code, redirect_uri=redirect_uri,
                                     code_verifier=code_verifier,
                                     **({} if provider.client_secret else
                                        {"client_id": provider.client_id}))
        # client_secret_basic when there is a secret (what RFC 6749 requires servers to
        # support); a public client sends its id in the body and proves itself with PKCE.
        auth = httpx.BasicAuth(provider.client_id, provider.client_secret) \
            if provider.client_secret else None

        status, token = await self._call(
            "POST", meta["token_endpoint"], content=body, auth=auth,
            headers={"Accept": "application/json", "Content-Type": FORM})
        if status != 200 or "error" in token:
            raise ProviderRefused(str(token.get("error", status))[:64])
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise ProviderRefused("no id_token in the token response")
        return id_token

    # -- the ID token -----------------------------------------------------------------------

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        if self._keys is not None and not refresh:
            return self._keys
        known = self._keys
        async with self._keys_lock:
            if self._keys is not known and self._keys is not None:
                return self._keys  # another callback refreshed it while we waited
            meta = await self.metadata()
            body = await self._get_json(meta["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(body)  # type: ignore[arg-type]
            except (JoseError, KeyError, TypeError, ValueError):
                raise ProviderDown("JWKS is not a key set") from None
            return self._keys

    async def verify(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token's claims, after every check OpenID Connect Core 3.1.3.7 asks for."""
        try:
            header = jws.extract_compact(id_token.encode()).headers()
        except (JoseError, ValueError):
            raise InvalidIdToken("malformed") from None
        kid = header.get("kid")
        keys = await self._key_set()
        refreshed = False
        if not _has_kid(keys, kid):
            keys, refreshed = await self._key_set(refresh=True), True
            if not _has_kid(keys, kid):
                raise InvalidIdToken("unknown kid")
        try:
            token = _decode(id_token, keys, kid)
        except BadSignatureError:
            if kid is not None or refreshed:
                raise InvalidIdToken("signature") from None
            # No kid to tell a rotation by (allowed when the set has one key): a signature
            # that fails may be a new key, so the set is fetched again once.
            try:
                token = _decode(id_token, await self._key_set(refresh=True), kid)
            except JoseError as exc:
                raise InvalidIdToken(f"signature: {exc.error}") from None
        except JoseError as exc:
            raise InvalidIdToken(f"signature: {exc.error}") from None
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": self.provider.issuer},
            aud={"essential": True, "value": self.provider.client_id},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True, "value": nonce})
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise InvalidIdToken(f"claim: {exc.error} {exc.description or ''}".strip()) from None
        audience = claims["aud"]
        if isinstance(audience, list) and len(audience) > 1 and \
                claims.get("azp") != self.provider.client_id:
            raise InvalidIdToken("claim: azp")
        return claims


def _decode(id_token: str, keys: KeySet, kid: Any) -> jwt.Token:
    key = keys.keys[0] if kid is None else keys.get_by_kid(kid)
    return jwt.decode(id_token, key, algorithms=ALGORITHMS)


def _has_kid(keys: KeySet, kid: Any) -> bool:
    if kid is None:
        return len(keys.keys) == 1
    return any(key.kid == kid for key in keys)


class Providers:
    """The configured providers of one app, with their caches and breakers."""

    def __init__(self, settings: Settings) -> None:
        breakers = AsyncCircuitBreakerFactory(default_threshold=BREAKER_THRESHOLD,
                                              default_ttl=BREAKER_TTL)
        timeout = settings.oidc_timeout_ms / 1000
        self.clients = {p.name: OidcClient(p, timeout=timeout, breakers=breakers)
                        for p in settings.oidc_providers}

    def get(self, name: str) -> OidcClient | None:
        return self.clients.get(name)


def client_for(state: Any, name: str) -> OidcClient:
    """The named provider's client of this app (404 when there is none). The clients, their
    caches and breakers are made on first use and kept in the app's state."""
    providers = state.get(STATE_KEY)
    if providers is None:
        providers = state[STATE_KEY] = Providers(state.settings)
    client = providers.get(name)
    if client is None:
        log.info("oidc_unknown_provider", provider=name[:64])
        raise not_found("No such sign-in provider.")
    return client


# Everything a call to a provider can fail with; `provider_problem` answers each.
FAILURES = (ProviderDown, ProviderRefused, InvalidIdToken)



def provider_problem(provider: str, exc: ProviderDown | ProviderRefused | InvalidIdToken,
                     step: str) -> Problem:
    """The caller's problem for a failed call, and one log line naming the cause (never a
    code, token, state or secret)."""
    if isinstance(exc, ProviderDown):
        log.warning("oidc_provider_unavailable", provider=provider, step=step, reason=exc.reason)
        return Problem(503, "The sign-in provider cannot be reached; retry after the indicated "
                       "time.", title="Service Unavailable",
                       headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, ProviderRefused):
        log.warning("oidc_provider_refused", provider=provider, step=step, error=exc.error)
        return unauthenticated("The sign-in provider did not accept this sign-in.")
    log.warning("oidc_id_token_invalid", provider=provider, step=step, reason=exc.reason)
    return unauthenticated("The sign-in provider's ID token failed verification.")

