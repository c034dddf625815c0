"""Settings every benchmark runs under, unless the environment already says otherwise.

Benchmarks run the production configuration (PostgreSQL, Redis, the production web server) on
this machine, so they need the variables production requires; none of these values is a secret
worth keeping, and the demo payment provider stands in for Stripe unless a Stripe key is set.
"""

import os
import secrets


def bench_environment_defaults() -> None:
    """Fill in the variables production settings require, for this process and its children."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("SITE_URL", "http://127.0.0.1:8000")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    if not os.environ.get("STRIPE_SECRET_KEY"):
        os.environ.setdefault("PAYMENTS_DEMO", "true")
