"""Access tokens: PASETO v4.public (Ed25519), short-lived, stateless.

Claims: sub (user id), role, iat, exp, jti. The footer carries `kid`, the id of the signing
key, so a new key can sign while old public keys keep verifying until their tokens expire.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from datetime import datetime
from pathlib import Path

import pyseto
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyseto import Key, Paseto
from uuid_utils.compat import uuid7

from shared.auth.principal import Principal


class InvalidToken(Exception):
    """Expired, forged, malformed or signed by an unknown key."""


def generate_secret_paserk() -> str:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    return Key.new(version=4, purpose="public", key=pem).to_paserk()


def public_paserk(secret_paserk: str) -> str:
    # k4.secret is base64url(seed || public key): the second half is the public key.
    raw = base64.urlsafe_b64decode(secret_paserk.removeprefix("k4.secret.") + "==")
    seed = Ed25519PrivateKey.from_private_bytes(raw[:32])
    pem = seed.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return Key.new(version=4, purpose="public", key=pem).to_paserk()


def dev_signing_key(data_dir: Path) -> str:
    """Development only: a key generated once and kept in .data/ (mode 0600).

    The workers of a first `rampart serve --workers N` all find no key at once: each writes
    its own aside and links it into place, which only the first can do (a link never
    replaces), and every one reads the key that won, never a half-written file."""
    path = data_dir / "token_signing_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        aside = data_dir / f".token_signing_key.{os.getpid()}.{threading.get_ident()}"
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(generate_secret_paserk())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process's key is the key
        finally:
            aside.unlink()
    return path.read_text().strip()


class TokenService:
    def __init__(self, secret_paserk: str, *, kid: str, ttl: int,
                 verify_keys: dict[str, str] | None = None) -> None:
        self.kid = kid
        self.ttl = ttl
        self._signer = Key.from_paserk(secret_paserk)
        self._verifiers = {kid: Key.from_paserk(public_paserk(secret_paserk))}
        for other_kid, paserk in (verify_keys or {}).items():
            self._verifiers[other_kid] = Key.from_paserk(paserk)
        self._paseto = Paseto.new(exp=ttl, include_iat=True)
        self._footer = json.dumps({"kid": kid}).encode()
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._cache_size = 10_000

    def issue(self, principal: Principal) -> str:
        claims = {"sub": str(principal.user_id), "role": principal.role, "jti": str(uuid7())}
        token = self._paseto.encode(self._signer, claims, footer=self._footer, serializer=json)
        return token.decode()

    def verify(self, token: str) -> Principal:
        """The token's principal, or InvalidToken.

        A signature check costs ~190 µs, more than the rest of a typical request; a token is
        immutable, so a verified one is remembered until it expires (bounded memory).
        """
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        principal, expires_at = self._verify(token)
        if len(self._verified) >= self._cache_size:
            self._verified.pop(next(iter(self._verified)))  # oldest first
        self._verified[token] = (principal, expires_at)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != "v4" or parts[1] != "public":
            raise InvalidToken("not a v4.public token with a footer")
        try:
            footer = json.loads(base64.urlsafe_b64decode(parts[3] + "=" * (-len(parts[3]) % 4)))
            key = self._verifiers[footer["kid"]]
            decoded = self._paseto.decode(key, token, deserializer=json)
            claims = decoded.payload
            expires_at = datetime.fromisoformat(claims["exp"]).timestamp()
            return Principal.from_claims(claims["sub"], claims["role"]), expires_at
        except InvalidToken:
            raise
        except (pyseto.VerifyError, pyseto.DecryptError, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken(str(exc)) from None


def parse_verify_keys(text: str) -> dict[str, str]:
    """`TOKEN_VERIFY_KEYS="old=k4.public....;older=k4.public...."` -> {kid: paserk}."""
    keys = {}
    for item in filter(None, (p.strip() for p in text.split(";"))):
        kid, _, paserk = item.partition("=")
        keys[kid.strip()] = paserk.strip()
    return keys
