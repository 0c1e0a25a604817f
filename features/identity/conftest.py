"""Fixtures of the identity module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from features.identity.oidc_provider_testing import MockProvider, running_provider


@pytest.fixture(scope="session")
def provider() -> Iterator[MockProvider]:
    """A real OpenID Connect provider on a loopback port of its own, for the whole run (its
    RSA key takes a while to make). Tests use subjects of their own; each app has its own
    caches, so one test's key rotation is only news to the apps that cached the old key."""
    with running_provider() as mock:
        yield mock
