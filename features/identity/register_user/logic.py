"""Rules for a new account: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import msgspec
from uuid_utils.compat import uuid7

from shared.http.problems import invalid


class NewUser(msgspec.Struct, frozen=True):
    id: UUID
    email: str
    name: str
    role: str
    password_hash: str
    created_at: datetime


def normalise_email(email: str) -> str:
    """Stored as typed but trimmed; uniqueness and look-ups ignore case."""
    return email.strip()


def new_user(email: str, name: str, password_hash: str, role: str = "customer") -> NewUser:
    clean_name = name.strip()
    if not clean_name:
        raise invalid("name must contain a non-space character.", pointer="#/name")
    clean_email = normalise_email(email)
    if len(clean_email) < 3:
        raise invalid("email is not an address.", pointer="#/email")
    return NewUser(id=uuid7(), email=clean_email, name=clean_name, role=role,
                   password_hash=password_hash, created_at=datetime.now(UTC))
