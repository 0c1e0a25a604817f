"""Amounts in minor units, written for people: `format_amount(1250, "EUR") == "EUR 12.50"`.

Minor units follow ISO 4217 (list one), as every `*_cents` field of the API does: most
currencies have two decimals; the ones below differ. (CLDR's display precision, which locale
libraries use, is a different thing: it gives IQD 0 decimals where ISO 4217 gives 3.)
"""

from __future__ import annotations

_EXPONENTS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
                     "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


def minor_units(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def format_amount(cents: int, currency: str) -> str:
    """The code, then the amount with its decimals and thousands grouped: "JPY 1,500"."""
    exponent = minor_units(currency)
    sign, cents = ("-" if cents < 0 else ""), abs(cents)
    major, minor = divmod(cents, 10 ** exponent)
    decimals = f".{minor:0{exponent}d}" if exponent else ""
    return f"{currency} {sign}{major:,}{decimals}"
