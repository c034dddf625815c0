"""Recognise PostgreSQL's deadlock error: it undid the transaction (or savepoint) it struck, so
the work may run again at once."""

DEADLOCK_DETECTED = "40P01"


def is_deadlock(error: BaseException) -> bool:
    """Say whether `error` (Django's wrapper of the driver's error) is a detected deadlock."""
    return getattr(error.__cause__, "sqlstate", None) == DEADLOCK_DETECTED
