"""The product resource as every catalog slice returns it, and the field rules they share."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from shared.http.problems import invalid
from shared.http.schema import SAYS_SOMETHING, whole

PRODUCT_COLUMNS = ("id, sku, name, description, price_cents, currency, category, version, "
                   "created_at, updated_at")
# Below 2**53, so every JSON consumer reads it exactly; far inside PostgreSQL's bigint.
MAX_PRICE_CENTS = 10**15

Sku = Annotated[str, Meta(min_length=1, max_length=64, pattern=whole(r"[A-Z0-9-]+"),
                          description="Upper-case letters, digits and dashes.")]
Name = Annotated[str, Meta(min_length=1, max_length=200, extra_json_schema=SAYS_SOMETHING)]
Description = Annotated[str, Meta(max_length=5000)]
PriceCents = Annotated[int, Meta(ge=1, le=MAX_PRICE_CENTS, description="Minor units.")]
# The circulating currencies of ISO 4217 (list one, 2026): no fund codes (BOV, CHE, USN...),
# no metals or special codes (XAU, XDR, XTS, XXX), none withdrawn (HRK, BGN, ANG, SLL, ZWL).
# A literal, so a typo is a 400 naming the field and the OpenAPI document lists the codes.
Currency = Annotated[Literal[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BHD",
    "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
    "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN",
    "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD",
    "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES",
    "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN",
    "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP",
    "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK",
    "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT",
    "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VED", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
], Meta(description="ISO 4217 code of a circulating currency, upper case.")]
Category = Annotated[str, Meta(min_length=1, max_length=64, extra_json_schema=SAYS_SOMETHING)]


def trimmed(value: str, field: str, *, parameter: bool = False) -> str:
    """Names and categories are stored trimmed and must say something. A category filter is
    trimmed the same way (`parameter=True`), so `?category= tea ` finds what `tea` does."""
    clean = value.strip()
    if not clean:
        detail = f"{field} must contain a non-space character."
        raise invalid(detail, parameter=field) if parameter else invalid(
            detail, pointer=f"#/{field}")
    return clean


class Product(msgspec.Struct, frozen=True):
    id: UUID
    sku: str
    name: str
    description: str | None
    price_cents: int
    currency: str
    category: str
    version: int
    created_at: datetime
    updated_at: datetime
