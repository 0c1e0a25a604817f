"""Webhook signatures (pure): HMAC-SHA256 over timestamp and raw body, 5-minute tolerance."""

from __future__ import annotations

import pytest

from features.payments.signature import BadSignature, sign, verify

SECRET = "whsec_0123456789abcdef"
BODY = b'{"id":"evt_1","type":"charge.succeeded"}'


def test_a_signature_verifies_with_the_secret_and_body() -> None:
    verify(SECRET, sign(SECRET, BODY, timestamp=1_000), BODY, now=1_000)


def test_one_matching_value_of_several_is_enough() -> None:
    header = sign(SECRET, BODY, timestamp=1_000)
    t, v1 = header.split(",")
    verify(SECRET, f"{t},v1=deadbeef,{v1}", BODY, now=1_000)


@pytest.mark.parametrize("header", [None, "", "v1=abc", "t=1000", "t=abc,v1=abc",
                                    "t=1000,v1=" + "0" * 64, "t=1000,v1=\u00e9"])
def test_missing_or_malformed_headers_are_refused(header) -> None:
    with pytest.raises(BadSignature):
        verify(SECRET, header, BODY, now=1_000)


def test_another_body_or_secret_is_refused() -> None:
    header = sign(SECRET, BODY, timestamp=1_000)
    with pytest.raises(BadSignature):
        verify(SECRET, header, BODY + b" ", now=1_000)
    with pytest.raises(BadSignature):
        verify("whsec_another_secret_000", header, BODY, now=1_000)


def test_a_timestamp_beyond_five_minutes_is_a_replay() -> None:
    header = sign(SECRET, BODY, timestamp=1_000)
    verify(SECRET, header, BODY, now=1_300)
    for now in (1_301, 699):
        with pytest.raises(BadSignature, match="tolerance"):
            verify(SECRET, header, BODY, now=now)
