"""Which account an ID token signs in to: pure, no I/O."""

from __future__ import annotations

from typing import Any, Literal

from shared.http.problems import Problem, unprocessable

Decision = Literal["sign_in", "link", "create"]


def verified_email(claims: dict[str, Any]) -> str | None:
    """The e-mail, only when the provider vouches for it."""
    email = claims.get("email")
    if not isinstance(email, str) or not 3 <= len(email.strip()) <= 254 or "@" not in email:
        return None
    # Some providers send the boolean as a string.
    return email.strip() if claims.get("email_verified") in (True, "true") else None


def display_name(claims: dict[str, Any], email: str) -> str:
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()[:200]
    return email.split("@")[0][:200] or email[:200]


def decide(linked: bool, email: str | None, account: dict[str, Any] | None) -> Decision:
    """`linked`: this (provider, subject) already names an account. `account`: the account
    whose e-mail is the token's verified one, if any, with `has_password`.

    An account with a password is never linked from here: whoever controls an IdP account
    with the victim's address (a provider that let them claim it, a recycled address) would
    otherwise sign in as the victim without knowing the password.
    """
    if linked:
        return "sign_in"
    if email is None:
        raise unprocessable("The sign-in provider has not verified an e-mail address for "
                            "this account, so no Rampart account can be made or linked.")
    if account is None:
        return "create"
    if account["has_password"]:
        raise Problem(409, "An account with this e-mail address already exists and has a "
                      "password: sign in with the password instead.")
    return "link"
