"""Settings every benchmark runs under, unless the environment already says otherwise.

Benchmarks run the production configuration (PostgreSQL, Redis, the production web server) on
this machine, so they need the variables production requires; none of these values is a secret
worth keeping, and the demo payment provider stands in for Stripe unless a Stripe key is set.
"""

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


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


@contextmanager
def fresh_database(name: str) -> Iterator[None]:
    """Run on a new, migrated database of this run's own, dropped afterwards.

    Named after the benchmark and this process: a fixed name (Django's `test_<name>`) was
    dropped and made again by a second run at once, or by the test suite on the same server.
    """
    from django.conf import settings
    from django.db import connection

    test_settings: Any = settings.DATABASES["default"].setdefault("TEST", {})
    own = f"{name}_{os.getpid()}"
    if connection.vendor == "sqlite":
        test_settings["NAME"] = str(settings.VAR_DIR / f"{own}.sqlite3")
    else:
        test_settings["NAME"] = own
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
