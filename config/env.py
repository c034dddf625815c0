"""The one `environ.Env()` every setting is read through, and the folder for local state."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def var_dir() -> Path:
    """Return the folder for the embedded default's local state (SQLite, broker, mail, cache)."""
    path = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))
    if not path.is_absolute():
        path = BASE_DIR / path
    return path


def postgres_url(database: Mapping[str, Any]) -> str:
    """Return the DATABASE_URL of a PostgreSQL connection's settings, for a child process."""
    user = quote(database.get("USER") or "postgres", safe="")
    password = database.get("PASSWORD")
    auth = f"{user}:{quote(password, safe='')}" if password else user
    host = f"{database.get('HOST') or '127.0.0.1'}:{database.get('PORT') or 5432}"
    return f"postgres://{auth}@{host}/{database['NAME']}"
