from __future__ import annotations

from typing import Any

from shared.db import Tx

FIND_USER = """
SELECT id, role, password_hash FROM identity.users WHERE lower(email) = lower(%s)"""

# The row is made if missing and locked in one statement (a concurrent success may delete it
# between two): attempts for one (e-mail, address) are judged one after another, each seeing
# the others' reservations. The no-op update is what takes the lock and returns the row.
LOCK_ROW = """
INSERT INTO identity.login_failures AS f (email, client_ip, failures, window_started_at)
VALUES (lower(%(email)s), %(ip)s, 0, now())
ON CONFLICT (email, client_ip) DO UPDATE SET failures = f.failures
RETURNING failures, window_started_at, in_flight, in_flight_until, now() AS now"""
RESERVE = """
UPDATE identity.login_failures
SET failures = %(failures)s, window_started_at = %(started)s, in_flight = %(in_flight)s + 1,
    in_flight_until = now() + make_interval(secs => %(hold)s)
WHERE email = lower(%(email)s) AND client_ip = %(ip)s"""

# A judged attempt gives its reservation back; a failure is counted, a success clears.
FAILED = """
UPDATE identity.login_failures
SET failures = failures + 1, in_flight = greatest(in_flight - 1, 0)
WHERE email = lower(%(email)s) AND client_ip = %(ip)s"""
SUCCEEDED = """
UPDATE identity.login_failures SET failures = 0, in_flight = greatest(in_flight - 1, 0)
WHERE email = lower(%(email)s) AND client_ip = %(ip)s"""
FORGET = """
DELETE FROM identity.login_failures
WHERE email = lower(%(email)s) AND client_ip = %(ip)s AND failures = 0 AND in_flight = 0"""

ADDRESS_FAILURES = """
SELECT failures, window_started_at, now() AS now
FROM identity.login_failures_by_address WHERE client_ip = %s"""
# One statement, so concurrent failures each count.
ADDRESS_FAILED = """
INSERT INTO identity.login_failures_by_address AS f (client_ip, failures, window_started_at)
VALUES (%(ip)s, 1, now())
ON CONFLICT (client_ip) DO UPDATE SET
    failures = CASE WHEN f.window_started_at <= now() - make_interval(secs => %(window)s)
                    THEN 1 ELSE f.failures + 1 END,
    window_started_at = CASE WHEN f.window_started_at <= now() - make_interval(secs => %(window)s)
                    THEN now() ELSE f.window_started_at END"""


async def find_user(tx: Tx, email: str) -> dict[str, Any] | None:
    cur = await tx.execute(FIND_USER, (email.strip(),))
    return await cur.fetchone()


async def lock_counts(tx: Tx, email: str, ip: str) -> dict[str, Any]:
    params = {"email": email.strip(), "ip": ip}
    cur = await tx.execute(LOCK_ROW, params)
    row = await cur.fetchone()
    assert row is not None
    return row


async def reserve(tx: Tx, email: str, ip: str, *, failures: int, started: Any, in_flight: int,
                  hold: int) -> None:
    await tx.execute(RESERVE, {"email": email.strip(), "ip": ip, "failures": failures,
                               "started": started, "in_flight": in_flight, "hold": hold})


async def address_failures(tx: Tx, ip: str) -> dict[str, Any] | None:
    cur = await tx.execute(ADDRESS_FAILURES, (ip,))
    return await cur.fetchone()


async def failed(tx: Tx, email: str, ip: str, window: int) -> None:
    await tx.execute(FAILED, {"email": email.strip(), "ip": ip})
    await tx.execute(ADDRESS_FAILED, {"ip": ip, "window": window})


async def succeeded(tx: Tx, email: str, ip: str) -> None:
    params = {"email": email.strip(), "ip": ip}
    await tx.execute(SUCCEEDED, params)
    await tx.execute(FORGET, params)  # nothing left to remember
