"""A real OpenID Connect provider on loopback for the sign-in tests (`oidc-provider-mock`,
Authlib's authorization server under Flask), and the browser's part of the dance.

Not a fake of the protocol: discovery, JWKS, authorization codes, the token endpoint and
signed ID tokens are the provider's own. Tests only choose who signs in (the provider's
consent form takes a subject) and rotate its signing key.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import flask
import httpx
import oidc_provider_mock
import werkzeug.serving
from authlib import jose

CLIENT_ID = "rampart-test-client"
CLIENT_SECRET = "test-client-secret-d9f2"
REDIRECT_URI = "http://rampart.test/v1/auth/oidc/mock/callback"


def oidc_settings(issuer: str, **more: Any) -> dict[str, Any]:
    """Settings overrides (for tests.fixtures.make_settings) naming one provider, `mock`."""
    return {"oidc_providers": "mock", "oidc_mock_issuer": issuer,
            "oidc_mock_client_id": CLIENT_ID, "oidc_mock_client_secret": CLIENT_SECRET,
            "oidc_mock_redirect_uris": REDIRECT_URI, **more}


class _Quiet(werkzeug.serving.WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class MockProvider:
    def __init__(self, server: werkzeug.serving.BaseWSGIServer, app: flask.Flask) -> None:
        self.server = server
        self.issuer = f"http://localhost:{server.server_port}"
        with app.test_request_context():
            app.preprocess_request()  # its before_request hands out the provider's storage
            self.storage = flask.g.oidc_provider_mock_storage

    def rotate_key(self) -> Any:
        """Sign from now on with a new key (the JWKS serves only the new one); returns the
        old one so a test can put it back."""
        old = self.storage.jwk
        self.storage.jwk = jose.RSAKey.generate_key(is_private=True)
        return old

    async def set_user(self, sub: str, **claims: Any) -> None:
        async with httpx.AsyncClient() as http:
            response = await http.put(f"{self.issuer}/users/{sub}", json=claims)
            assert response.status_code == 204, response.text

    async def consent(self, authorize_url: str, sub: str) -> dict[str, str]:
        """What the person does at the provider: picks the account and approves. Returns the
        query the provider redirects back with (code and state, or error)."""
        async with httpx.AsyncClient() as http:
            response = await http.post(authorize_url, data={"sub": sub})
        assert response.status_code == 302, response.text
        return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}

    async def deny(self, authorize_url: str) -> dict[str, str]:
        async with httpx.AsyncClient() as http:
            response = await http.post(authorize_url, data={"action": "deny"})
        assert response.status_code == 302, response.text
        return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


@contextmanager
def running_provider(port: int = 0, *, token_max_age: timedelta = timedelta(hours=1)
                     ) -> Iterator[MockProvider]:
    # The provider refuses plain http unless told this is a test.
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    app = oidc_provider_mock.app(require_nonce=True, access_token_max_age=token_max_age)
    app.logger.disabled = True
    server = werkzeug.serving.make_server("localhost", port, app, threaded=True,
                                          request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield MockProvider(server, app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app made inside a test (one with settings of its own), lifespan run."""
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://rampart.test") as c:
            yield c
