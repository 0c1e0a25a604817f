from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from shared.http.schema import Body, whole

# Deliberately loose: one "@", something on each side, no spaces. Deliverability is proven by
# mail, not by a regular expression.
Email = Annotated[str, Meta(min_length=3, max_length=254, pattern=whole(r"[^@\s]+@[^@\s]+"))]
Password = Annotated[str, Meta(min_length=8, max_length=128)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]


class RegisterUser(Body, frozen=True):
    email: Email
    password: Password
    name: Name
