"""Private instances of the production layout for the fault tests, each owned by the test.

PostgreSQL (a throw-away cluster from PostgreSQL's own `initdb`/`pg_ctl`), Redis (`redis-server`),
an SMTP server that records what it accepted, and the application's own processes as the
Procfile runs them (granian, a Celery worker and beat). Every process is started in its own
process group and stopped by that group's id; every data directory is removed afterwards.
Nothing here touches a service it did not start.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# A hundred ports from RELIABILITY_PORT_FIRST (engineers sharing a machine give each run its own).
_PORT_FIRST = int(os.environ.get("RELIABILITY_PORT_FIRST", "20600"))
PORTS = range(_PORT_FIRST, _PORT_FIRST + 100)


_handed_out: set[int] = set()


def port_free() -> int:
    """Return a port in the fault tests' range that nothing listens on now and that this run
    has not handed out before (a server given a port may not have bound it yet)."""
    for port in PORTS:
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port in {PORTS}")


def wait_until(
    condition: Callable[[], object], *, timeout: float, what: str, every: float = 0.1
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            result = condition()
            if result:
                return result
        time.sleep(every)
    raise TimeoutError(f"gave up after {timeout}s waiting for {what}")


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Process:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], *, env: dict[str, str], log_dir: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(  # noqa: S603 - our own command lines
                self.args,
                cwd=BASE_DIR,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL the whole group at once, as the kernel's OOM killer or a lost machine would."""
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Redis:
    def __init__(self, workdir: Path) -> None:
        self.port = port_free()
        self.workdir = workdir
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self.process = Process("redis", args, env=dict(os.environ), log_dir=self.workdir).start()
        wait_until(lambda: listening(self.port), timeout=20, what="redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            wait_until(lambda: not listening(self.port), timeout=10, what="redis to stop")


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise FileNotFoundError(f"PostgreSQL's {name} (Debian package postgresql) is missing")
    return found[-1]


class Postgres:
    """A throw-away PostgreSQL cluster (as root, run as `postgres`: initdb refuses root)."""

    def __init__(self) -> None:
        self.port = port_free()
        self.root = Path(tempfile.mkdtemp(prefix="rs-pg-"))
        self.data = self.root / "data"
        self.as_root = os.geteuid() == 0
        self.contributions: list[dict[str, Any]] = []  # made into the template (conftest)

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        # From the cluster's own folder: the `postgres` user may not be allowed into ours.
        subprocess.run(command, cwd=self.root, check=True, capture_output=True, timeout=120)  # noqa: S603

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        if self.as_root:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._run(
            _postgres_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            _postgres_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def crash(self) -> None:
        """Stop at once, without a checkpoint, as a crash would (recovery runs at next start)."""
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def sql(self, database: str, statement: str, *params: object) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


class SmtpSink(socketserver.ThreadingTCPServer):
    """An SMTP server that keeps each message it accepted (after its 250 reply).

    `delay` is spent before the reply to MAIL FROM, as a slow mail server would: a sender killed
    then has handed nothing over yet.
    """

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, *, delay: float = 0.0) -> None:
        self.port = port_free()
        super().__init__(("127.0.0.1", self.port), _SmtpSession)
        self.delay = delay
        self.messages: list[bytes] = []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()

    def message_ids(self) -> list[str]:
        found = []
        with self.lock:
            messages = list(self.messages)
        for message in messages:
            match = re.search(rb"^Message-ID:\s*(\S+)", message, re.MULTILINE | re.IGNORECASE)
            found.append(match.group(1).decode() if match else "")
        return found


class _SmtpSession(socketserver.StreamRequestHandler):
    server: SmtpSink

    def handle(self) -> None:
        self.wfile.write(b"220 sink ready\r\n")
        while line := self.rfile.readline():
            command = line.strip().upper()
            if command == b"DATA":
                self.wfile.write(b"354 end with a dot\r\n")
                lines = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(data)
                self.wfile.write(b"250 queued\r\n")
                self.wfile.flush()
                with self.server.lock:
                    self.server.messages.append(b"".join(lines))
            elif command == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:  # EHLO, HELO, MAIL, RCPT, RSET, NOOP
                if command.startswith(b"MAIL") and self.server.delay:
                    time.sleep(self.server.delay)
                self.wfile.write(b"250 ok\r\n")


def app_env(*, database_url: str, redis_url: str, workdir: Path, smtp_port: int, **extra: str):
    """The environment of the application's processes: production settings, our instances."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "DJANGO_ALLOW_ASYNC"))
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        VAR_DIR=str(workdir),
        SITE_URL="http://127.0.0.1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        PAYMENTS_DEMO="true",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    env.update(extra)
    return env


def web(env: dict[str, str], *, log_dir: Path, port: int | None = None) -> tuple[Process, int]:
    """granian as the Procfile runs it (2 WSGI workers)."""
    port = port or port_free()
    args = [
        str(BIN / "granian"),
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
        "--no-ws",
        "config.wsgi:application",
    ]
    return Process("web", args, env=env, log_dir=log_dir), port


def worker(env: dict[str, str], *, log_dir: Path, name: str = "worker") -> Process:
    """A Celery worker as the Procfile runs it (prefork, 2 processes)."""
    args = [
        str(BIN / "celery"),
        "--app",
        "config",
        "worker",
        "--loglevel",
        "WARNING",
        "--concurrency",
        "2",
        "--without-gossip",
        "--without-mingle",
    ]
    return Process(name, args, env=env, log_dir=log_dir)


def beat(env: dict[str, str], *, log_dir: Path) -> Process:
    args = [
        str(BIN / "celery"),
        "--app",
        "config",
        "beat",
        "--loglevel",
        "WARNING",
        "--schedule",
        str(log_dir / "celerybeat-schedule"),
    ]
    return Process("beat", args, env=env, log_dir=log_dir)


@contextlib.contextmanager
def running(*processes: Process) -> Iterator[None]:
    """Start the processes, and stop every one of them (and only them) whatever happens."""
    try:
        for process in processes:
            if process.popen is None:
                process.start()
        yield
    finally:
        for process in reversed(processes):
            process.stop()
