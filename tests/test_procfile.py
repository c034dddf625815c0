"""The production web server's database connections are bounded.

Each of granian's WSGI threads holds its own Django database connection. Left at granian's
defaults (hundreds of threads per worker), a burst of 120 readers on a survey opened 95
connections until PostgreSQL refused everyone ("too many clients"), readers included. The
Procfile caps the threads and the requests each worker takes at once (the rest wait in line).
"""

import re
import shlex
from pathlib import Path

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
POSTGRES_DEFAULT_MAX_CONNECTIONS = 100


def web_command() -> list[str]:
    line = next(line for line in PROCFILE.read_text().splitlines() if line.startswith("web:"))
    return shlex.split(re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", line.removeprefix("web:")))


def option(args: list[str], name: str) -> int:
    assert name in args, f"the Procfile's web server needs {name}"
    return int(args[args.index(name) + 1])


def test_the_web_server_bounds_its_threads_and_so_its_database_connections():
    args = web_command()
    workers = option(args, "--workers")
    threads = option(args, "--blocking-threads")
    assert option(args, "--backpressure") <= threads  # no request waits inside a worker
    assert workers * threads <= POSTGRES_DEFAULT_MAX_CONNECTIONS // 4
    line = PROCFILE.read_text()
    assert "--blocking-threads ${WEB_THREADS:-" in line and "--backpressure ${WEB_THREADS:-" in line
