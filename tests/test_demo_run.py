"""`make run` as a newcomer runs it: web, worker and beat each get their own PORT from honcho,
yet the links the worker mails lead to the web server; and `manage.py demo_draw` runs a whole
prize draw now. The demo runs in its own folder (VAR_DIR) on SQLite, as the embedded default."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import wait_for

pytestmark = pytest.mark.browser

BASE_DIR = Path(settings.BASE_DIR)
# What the test run itself sets (pytest's env, the browser fixture) must not reach the demo.
NOT_FOR_THE_DEMO = {
    "DATABASE_URL",
    "REDIS_URL",
    "SITE_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DJANGO_DEBUG",
    "SECURE_SSL_REDIRECT",
    "PAYMENTS_DEMO",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "CELERY_BROKER_URL",
    "SQLITE_FILE",
    "EMAIL_URL",
    "VAR_DIR",
    "PORT",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def mail_link(folder: Path, marker: str) -> str | None:
    """Return the first link containing `marker` in the mail written to `folder`."""
    for path in sorted(folder.glob("*.log")) if folder.exists() else []:
        found = re.search(rf"https?://\S+{marker}\S+/", path.read_text())
        if found:
            return found.group(0)
    return None


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own server
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
def demo(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_THE_DEMO}
    env.update(VAR_DIR=str(tmp_path), PORT=str(port))
    log = (tmp_path / "make-run.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [shutil.which("make") or "make", "run"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    site = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers(f"{site}/healthz"), timeout=240, what="make run to serve")
        yield site, env, tmp_path
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, as a person stops it
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def test_make_run_mails_links_to_the_web_server_and_runs_a_whole_draw_now(demo, page):
    site, env, var_dir = demo
    page.goto(f"{site}/surveys/reader-survey/")
    page.get_by_label("Every day").check()
    page.get_by_label("Sport").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("9", exact=True).check()
    page.get_by_role("button", name="Send my answers").click()
    page.get_by_label("Your e-mail address").fill("newcomer@example.com")
    page.get_by_label("Country you live in").select_option("GB")
    page.get_by_label("I am 18 or older.").check()
    page.get_by_label("I accept the terms and conditions of the prize draw.").check()
    page.get_by_role("button", name="Enter the draw").click()

    confirm = wait_for(
        lambda: mail_link(var_dir / "mail", "/surveys/entry/confirm/"),
        timeout=90,
        what="the worker to mail the confirmation link",
    )
    assert str(confirm).startswith(f"{site}/"), confirm  # not the worker's own PORT
    page.goto(str(confirm))
    page.get_by_role("button", name="Confirm my entry").click()
    assert "Your entry is confirmed" in page.content()

    ran = subprocess.run(
        [sys.executable, "manage.py", "demo_draw", "--entrants", "5"],
        cwd=BASE_DIR,
        env={**env, "SITE_URL": site},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert "from 6 confirmed entries" in ran.stdout

    claim = wait_for(
        lambda: mail_link(var_dir / "mail", "/surveys/prize/claim/"),
        timeout=90,
        what="the worker to mail a winner's claim link",
    )
    assert str(claim).startswith(f"{site}/"), claim
    page.goto(str(claim))
    assert page.get_by_role("button", name="Claim my prize").is_visible()

    page.goto(f"{site}/surveys/reader-survey/draw/")
    assert "Seed, revealed after the draw" in page.content()
