"""The one `environ.Env()` every setting is read through, and the folder for local state."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def var_dir() -> Path:
    """Return the folder for the embedded default's local state (SQLite, broker, mail, cache)."""
    path = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))
    if not path.is_absolute():
        path = BASE_DIR / path
    return path
