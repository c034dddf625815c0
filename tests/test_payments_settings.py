"""The demo provider never runs next to real Stripe keys, nor by accident in production."""

import secrets
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "support.example.com",
    "SITE_URL": "https://support.example.com",
}


def settings_value(*names: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh process with exactly `env` and print some values."""
    values = ", ".join(f"settings.{name}" for name in names)
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", f"from config import settings; print({values})"],
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "VAR_DIR": "var/test", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_embedded_default_uses_the_demo_provider():
    assert settings_value("PAYMENTS_DEMO", env={}).stdout.strip() == "True"


def test_production_without_a_stripe_key_refuses_to_start():
    result = settings_value("PAYMENTS_DEMO", env=PRODUCTION)

    assert result.returncode != 0
    assert "Set STRIPE_SECRET_KEY, or PAYMENTS_DEMO=true" in result.stderr


def test_the_demo_cannot_be_switched_on_next_to_a_stripe_key():
    env = {
        **PRODUCTION,
        "STRIPE_SECRET_KEY": "sk_live_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
        "PAYMENTS_DEMO": "true",
    }

    result = settings_value("PAYMENTS_DEMO", env=env)

    assert result.returncode != 0
    assert "PAYMENTS_DEMO cannot be on while STRIPE_SECRET_KEY is set" in result.stderr


def test_a_stripe_key_needs_its_webhook_secret():
    result = settings_value("PAYMENTS_DEMO", env={**PRODUCTION, "STRIPE_SECRET_KEY": "sk_test_x"})

    assert result.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET must be set" in result.stderr


def test_a_live_key_means_live_mode_and_turns_the_demo_off():
    env = {**PRODUCTION, "STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"}

    result = settings_value("PAYMENTS_DEMO", "STRIPE_LIVEMODE", env=env)

    assert result.stdout.strip() == "False True"
