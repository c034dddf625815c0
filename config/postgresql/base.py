"""Django's PostgreSQL backend with a cheaper per-request health check.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` on a reused connection before each request's
first query. A front-page burst is bounded by round trips to PostgreSQL, and that one was a
third of a survey page's. A connection PostgreSQL has ended (a restart, a crash, an
administrator's terminate, an idle timeout) is one the server has written its goodbye to and
closed, and an idle connection is otherwise never written to (we use no LISTEN): so the check
first asks the operating system, without a round trip, whether anything is waiting to be read.
Nothing waiting: the connection is taken as healthy. Anything waiting: Django's own check
(`SELECT 1`) decides, and the connection is replaced if it fails. A connection that breaks in
silence (a network cut without a reset) is found neither way before its first query, as before.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is None
            # Django's own flags, which its type stubs do not declare.
            or not getattr(self, "health_check_enabled", False)
            or getattr(self, "health_check_done", True)
            or self.pool
            or _server_has_spoken(self.connection)
        ):
            super().close_if_health_check_failed()
            return
        self.health_check_done = True


def _server_has_spoken(connection: object) -> bool:
    """Return whether the server closed this idle connection or wrote to it (no round trip)."""
    if getattr(connection, "closed", True) or getattr(connection, "broken", True):
        return True
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)  # type: ignore[attr-defined]
    except (OSError, ValueError):
        return True
    return bool(readable)
