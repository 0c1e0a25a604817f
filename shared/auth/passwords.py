"""Password hashing: argon2id at the OWASP minimum (m=19 MiB, t=2, p=1), off the event loop.

One hash costs ~20 ms of one core here (see README); running it in a worker thread keeps the
event loop answering other requests meanwhile (argon2 releases the GIL).
"""

from __future__ import annotations

import asyncio

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(time_cost=2, memory_cost=19456, parallelism=1),))
# Verified against when the e-mail is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("rampart-timing-equaliser")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """False for a wrong password and for no user at all, after the same amount of work."""
    target = password_hash or _DUMMY_HASH
    ok = await asyncio.to_thread(_hasher.verify, password, target)
    return ok and password_hash is not None
