from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from shared.http.schema import SAYS_SOMETHING, Body, whole

# Deliberately loose: one "@", something on each side, no spaces. Deliverability is proven by
# mail, not by a regular expression. The excluded characters are spelled out, not `\s`: the
# server's (Python's) `\s` also holds \x1c-\x1f and \x85, the document's readers' (ECMA's)
# also \ufeff, so a client would send what the server refuses. Control characters are out too.
_NOT = r"@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
Email = Annotated[str, Meta(min_length=3, max_length=254, pattern=whole(f"[^{_NOT}]+@[^{_NOT}]+"))]
Password = Annotated[str, Meta(min_length=8, max_length=128)]
Name = Annotated[str, Meta(min_length=1, max_length=200, extra_json_schema=SAYS_SOMETHING)]


class RegisterUser(Body, frozen=True):
    email: Email
    password: Password
    name: Name
