"""ETag / If-Match / If-None-Match rules (shared/http/concurrency.py): pure, no database."""

from __future__ import annotations

import pytest

from shared.http.concurrency import etag, if_match_versions, not_modified
from shared.http.problems import Problem


def test_the_etag_is_the_quoted_version():
    assert etag(7) == '"7"'


@pytest.mark.parametrize(("header", "versions"), [
    ('"3"', [3]), (' "3" ', [3]), ('"3", "4"', [3, 4]), ('W/"3"', []), ('"3", W/"4"', [3]),
    ('"abc"', []), ('"1234567890"', []), ('"\u00b2"', []), ('"-1"', []),
])
def test_if_match_yields_the_versions_an_update_may_apply_to(header, versions):
    # Weak, foreign or out-of-range tags cannot match: they leave nothing, which answers 412.
    assert if_match_versions(header) == versions


@pytest.mark.parametrize("header", [None, "", "  ", "*"])
def test_if_match_is_required_and_must_name_a_version(header):
    with pytest.raises(Problem) as caught:
        if_match_versions(header)
    assert caught.value.status == 428


@pytest.mark.parametrize("header", ["3", '"3', '"3" "4"', ",", 'W/ "3"'])
def test_a_malformed_if_match_is_a_400_naming_the_header(header):
    with pytest.raises(Problem) as caught:
        if_match_versions(header)
    assert caught.value.status == 400
    assert caught.value.extensions["errors"][0]["parameter"] == "If-Match"


@pytest.mark.parametrize(("header", "expected"), [
    (None, False), ("", False), ('"3"', True), ('W/"3"', True), ('"2", "3"', True),
    ('"4"', False), ("*", True), ("garbage", False), ('"33"', False), ('"3" "4"', False),
])
def test_if_none_match_compares_weakly(header, expected):
    assert not_modified(header, '"3"') is expected
    assert not_modified(header, 'W/"3"') is expected  # a weak current tag compares the same


def test_a_malformed_current_etag_matches_nothing_but_a_star():
    assert not_modified('"3"', "3") is False
    assert not_modified("*", "3") is True
