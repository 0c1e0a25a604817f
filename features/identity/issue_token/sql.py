from __future__ import annotations

from typing import Any

from shared.db import Tx

FIND_USER = """
SELECT id, role, password_hash FROM identity.users WHERE lower(email) = lower(%s)"""

# One statement, so concurrent attempts serialise on the row: each sees its own count.
RECORD_ATTEMPT = """
INSERT INTO identity.login_failures AS f (email, client_ip, failures, window_started_at)
VALUES (lower(%(email)s), %(ip)s, 1, now())
ON CONFLICT (email, client_ip) DO UPDATE SET
    failures = CASE WHEN f.window_started_at <= now() - make_interval(secs => %(window)s)
                    THEN 1 ELSE f.failures + 1 END,
    window_started_at = CASE WHEN f.window_started_at <= now() - make_interval(secs => %(window)s)
                    THEN now() ELSE f.window_started_at END
RETURNING failures, window_started_at, now() AS now"""

CLEAR_ATTEMPTS = "DELETE FROM identity.login_failures WHERE email = lower(%s) AND client_ip = %s"


async def find_user(tx: Tx, email: str) -> dict[str, Any] | None:
    cur = await tx.execute(FIND_USER, (email.strip(),))
    return await cur.fetchone()


async def record_attempt(tx: Tx, email: str, ip: str, window: int) -> dict[str, Any]:
    cur = await tx.execute(RECORD_ATTEMPT, {"email": email.strip(), "ip": ip, "window": window})
    row = await cur.fetchone()
    assert row is not None
    return row


async def clear_attempts(tx: Tx, email: str, ip: str) -> None:
    await tx.execute(CLEAR_ATTEMPTS, (email.strip(), ip))
