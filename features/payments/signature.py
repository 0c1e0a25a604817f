"""Webhook signatures, Stripe-style: `Payment-Signature: t=<unix time>,v1=<hex HMAC-SHA256>`.

The MAC covers `<t>.<raw body>`, so neither the body nor the time can be changed without the
secret; a timestamp older than the tolerance is refused, so a captured request cannot be
replayed later. Several `v1=` values may be sent (a secret being rotated); one must match.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "Payment-Signature"
TOLERANCE_SECONDS = 300


class BadSignature(Exception):
    """The detail is safe to show: it never contains the expected MAC."""


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(secret: str, header: str | None, body: bytes, *, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> None:
    if not header:
        raise BadSignature(f"The {HEADER} header is missing.")
    timestamp, macs = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1":
            macs.append(value)
    if timestamp is None or not macs:
        raise BadSignature(f"The {HEADER} header must hold t=<timestamp> and v1=<signature>.")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise BadSignature("The signature's timestamp is outside the 5-minute tolerance.")
    expected = _mac(secret, timestamp, body)
    if not any(hmac.compare_digest(expected.encode(), m.encode("ascii", "replace"))
               for m in macs):
        raise BadSignature("The signature does not match the body.")
