from __future__ import annotations

from typing import Any

from shared.db import Tx

INSERT_STATE = """
INSERT INTO identity.oidc_states
    (state_hash, browser_hash, provider, redirect_uri, nonce, code_verifier, expires_at)
VALUES (%(state_hash)s, %(browser_hash)s, %(provider)s, %(redirect_uri)s, %(nonce)s,
        %(code_verifier)s, now() + make_interval(secs => %(seconds)s))"""

# Abandoned sign-ins are swept by the next one to start (served by the expiry index).
PURGE_EXPIRED = "DELETE FROM identity.oidc_states WHERE expires_at < now()"


async def save_state(tx: Tx, values: dict[str, Any]) -> None:
    await tx.execute(PURGE_EXPIRED)
    await tx.execute(INSERT_STATE, values)
