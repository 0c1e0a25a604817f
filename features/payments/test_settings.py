"""The payment settings are validated at start-up, one line naming the variable."""

from __future__ import annotations

import pytest

from shared.auth.tokens import generate_secret_paserk
from shared.settings import SettingsError, load_settings

PROD = {"APP_ENV": "production", "DATABASE_URL": "postgresql://db/rampart",
        "TOKEN_SIGNING_KEY": generate_secret_paserk()}


def test_defaults() -> None:
    s = load_settings({})
    assert (s.payment_provider_url, s.payment_breaker_failures,
            s.payment_breaker_reset_seconds) == (None, 5, 30)


def test_production_with_a_provider_requires_the_webhook_secret() -> None:
    with pytest.raises(SettingsError, match="PAYMENT_WEBHOOK_SECRET"):
        load_settings({**PROD, "PAYMENT_PROVIDER_URL": "https://pay.example"})
    s = load_settings({**PROD, "PAYMENT_PROVIDER_URL": "https://pay.example",
                       "PAYMENT_WEBHOOK_SECRET": "whsec_0123456789abcdef"})
    assert s.payment_provider_url == "https://pay.example"


@pytest.mark.parametrize(("env", "name"), [
    ({"PAYMENT_PROVIDER_URL": "ftp://x"}, "PAYMENT_PROVIDER_URL"),
    ({"PAYMENT_PROVIDER_URL": "http://"}, "PAYMENT_PROVIDER_URL"),
    ({"PAYMENT_WEBHOOK_SECRET": "short"}, "PAYMENT_WEBHOOK_SECRET"),
    ({"PAYMENT_WEBHOOK_SECRET": "changeme"}, "PAYMENT_WEBHOOK_SECRET"),
    ({"PAYMENT_TIMEOUT_MS": "0"}, "PAYMENT_TIMEOUT_MS"),
    ({"PAYMENT_TIMEOUT_MS": "soon"}, "PAYMENT_TIMEOUT_MS"),
    ({"PAYMENT_CONNECT_TIMEOUT_MS": "6000"}, "PAYMENT_CONNECT_TIMEOUT_MS"),
    ({"PAYMENT_BREAKER_FAILURES": "0"}, "PAYMENT_BREAKER_FAILURES"),
    ({"PAYMENT_BREAKER_RESET_SECONDS": "0"}, "PAYMENT_BREAKER_RESET_SECONDS"),
    ({"PAYMENT_RECOVERY_AFTER_SECONDS": "5"}, "PAYMENT_RECOVERY_AFTER_SECONDS"),
    ({"PAYMENT_RECOVERY_INTERVAL_SECONDS": "0"}, "PAYMENT_RECOVERY_INTERVAL_SECONDS"),
])
def test_bad_values_are_refused_by_name(env, name) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(env)
