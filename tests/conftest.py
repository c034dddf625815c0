"""Fixtures for cross-app and end-to-end tests."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

from config.env import postgres_url
from conftest import CHROMIUM_PATH, POSTGRESQL_ENGINES

BASE_DIR = Path(settings.BASE_DIR)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _test_database_env() -> dict[str, str]:
    """Return the environment that points a child process at the test database."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    if db["ENGINE"] in POSTGRESQL_ENGINES:
        env["DATABASE_URL"] = postgres_url(db)
    else:
        env["SQLITE_FILE"] = str(db["NAME"])
    return env


@pytest.fixture
def celery_worker_process(transactional_db: None) -> Iterator[subprocess.Popen[bytes]]:
    """Run a real Celery worker process against the test database and broker."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--app",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=BASE_DIR,
        env=_test_database_env(),
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_for(condition: Callable[[], object], *, timeout: float = 20, what: str = "") -> object:
    """Poll `condition` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A real headless Chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are still plain synchronous calls. Restored afterwards, so that
    # child processes started by later tests do not inherit it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
            if previous is None:
                del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()
