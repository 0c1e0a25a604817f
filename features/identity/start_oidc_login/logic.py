"""What a sign-in starts with: pure, no I/O."""

from __future__ import annotations

import hashlib
import secrets

import msgspec

STATE_SECONDS = 600  # a person has ten minutes at the provider to finish signing in


def digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def cookie_name(provider: str) -> str:
    return f"rampart_oidc_{provider}"


def callback_path(provider: str) -> str:
    return f"/v1/auth/oidc/{provider}/callback"


class Attempt(msgspec.Struct, frozen=True):
    """The secrets of one sign-in: `state` and `nonce` go to the provider, `code_verifier`
    stays on the server, `browser` goes to the browser's cookie. Only hashes of `state` and
    `browser` are stored."""

    state: str
    nonce: str
    code_verifier: str  # 64 characters: RFC 7636 asks for 43-128 of high entropy
    browser: str


def new_attempt() -> Attempt:
    return Attempt(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                   code_verifier=secrets.token_urlsafe(48), browser=secrets.token_urlsafe(32))
