"""Settings every benchmark runs under, unless the environment already says otherwise.

Benchmarks run the production configuration (PostgreSQL, Redis, the production web server) on
this machine, so they need the variables production requires; none of these values is a secret
worth keeping, and the demo payment provider stands in for Stripe unless a Stripe key is set.
"""

import os
import secrets
import shutil


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


WRK_INSTALL = (
    "Debian or Ubuntu: apt-get install -y wrk (as root); macOS: brew install wrk; "
    "elsewhere: build it from its source"
)


def wrk_missing(benchmark: str) -> str | None:
    """Return why `benchmark` cannot run when the HTTP load generator wrk is not installed.

    The HTTP benchmarks drive the server with wrk rather than a Python client: a Python load
    generator on this machine's cores would take the CPU the server is measured on.
    """
    if shutil.which("wrk"):
        return None
    return f"{benchmark} needs wrk, the HTTP load generator ({WRK_INSTALL}). Skipped."
