"""Settings come from the environment; production refuses to start half-configured."""

import os
import secrets
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "support.example.com",
    "SITE_URL": "https://support.example.com",
}


# The test run's own relaxations (see [tool.pytest.ini_options] env) must not leak into the child.
TEST_ONLY_VARIABLES = {"DJANGO_DEBUG", "SECURE_SSL_REDIRECT", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION_ENV and k not in TEST_ONLY_VARIABLES
    }
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_is_clean_under_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    env = {**PRODUCTION_ENV, "ALLOWED_HOSTS": ""}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "ALLOWED_HOSTS must list" in result.stderr


def test_embedded_default_migrates_and_seeds_the_demo(tmp_path):
    env = {"VAR_DIR": str(tmp_path)}

    migrate = manage("migrate", "--noinput", env=env)
    seed = manage("seed_demo", env=env)

    assert migrate.returncode == 0, migrate.stderr
    assert seed.returncode == 0, seed.stderr
    assert "Demo ready." in seed.stdout
    assert "user 'admin'" in seed.stdout
    assert (tmp_path / "db.sqlite3").exists()


def test_seed_demo_refuses_outside_the_embedded_default():
    result = manage("seed_demo", env=PRODUCTION_ENV)

    assert result.returncode != 0
    assert "only runs in the embedded default" in result.stderr


def test_postgres_url_round_trips_through_the_settings_parser():
    import environ

    from config.env import postgres_url

    database = {"USER": "app", "PASSWORD": "p@ss:w/rd", "HOST": "db", "PORT": 6543, "NAME": "rs"}

    parsed = environ.Env.db_url_config(postgres_url(database))

    assert (parsed["USER"], parsed["PASSWORD"], parsed["HOST"], parsed["PORT"], parsed["NAME"]) == (
        "app",
        "p@ss:w/rd",
        "db",
        6543,
        "rs",
    )


def test_export_files_go_where_the_environment_says(tmp_path):
    """Web and worker on different machines must be pointable at storage both reach."""
    shown = (
        "from django.conf import settings as s; "
        "print(s.MEDIA_ROOT); print(s.STORAGES['default']['BACKEND'])"
    )
    result = manage(
        "shell",
        "--verbosity",
        "0",
        "-c",
        shown,
        env={
            "MEDIA_ROOT": str(tmp_path),
            "FILE_STORAGE_BACKEND": "django.core.files.storage.InMemoryStorage",
        },
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(tmp_path), "django.core.files.storage.InMemoryStorage"]


def test_production_refuses_to_start_without_a_site_url():
    env = {**PRODUCTION_ENV, "SITE_URL": ""}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "SITE_URL must be set" in result.stderr


def test_the_site_url_does_not_follow_a_process_port():
    """`make run` gives the worker its own PORT; the links it mails must still reach the web."""
    printed = "from django.conf import settings; print(settings.SITE_URL)"
    embedded = {"PORT": "8100", "SITE_URL": "", "DATABASE_URL": ""}

    worker = manage("shell", "-c", printed, env=embedded)

    assert worker.returncode == 0, worker.stderr
    assert worker.stdout.strip().splitlines()[-1] == "http://127.0.0.1:8000"
