from __future__ import annotations

from typing import Any

from features.identity.register_user.logic import NewUser
from features.identity.schema import USER_COLUMNS
from shared.db import Tx

INSERT_USER = f"""
INSERT INTO identity.users (id, email, name, role, password_hash, created_at)
VALUES (%(id)s, %(email)s, %(name)s, %(role)s, %(password_hash)s, %(created_at)s)
RETURNING {USER_COLUMNS}"""


async def insert_user(tx: Tx, user: NewUser) -> dict[str, Any]:
    """Raises psycopg.errors.UniqueViolation when the e-mail is taken (any letter case)."""
    cur = await tx.execute(INSERT_USER, {
        "id": user.id, "email": user.email, "name": user.name, "role": user.role,
        "password_hash": user.password_hash, "created_at": user.created_at,
    })
    row = await cur.fetchone()
    assert row is not None
    return row
