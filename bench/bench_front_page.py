"""The load a front page brings: survey submissions, draw entries and support-page checkouts
over HTTP, on the production web server, against a bare view in the same run.

Starts the production web server with the Procfile's own command (granian, 2 workers of
WEB_THREADS=8 threads; BENCH_WORKERS sets the workers) on loopback, on a throw-away PostgreSQL
database next to the configured one and the configured Redis (cache, rate limits, Celery's
broker), and drives it with wrk (Debian's `wrk`), one connection per wrk thread so each
connection's requests run in order:

- baseline: a POST to a bare view through Django's whole middleware stack (`bench.decision_urls`);
- survey: a two-page survey, each submission two POSTs (page 1, then the last page, which
  submits); the rate is the responses the database holds afterwards per second;
- draw entries: a POST of the entry form with a new e-mail address each time (the entry, its
  three consent records, and the confirmation mail's task on the broker);
- checkouts: a POST of the support form (a new supporter, a contribution, a Checkout Session):
  against the project's Stripe emulator (`stripe_emulator`, zero latency, over HTTP through
  `STRIPE_API_BASE`, as production calls Stripe), with the client-side Stripe rate limit at
  live mode's 90 calls per second, which bounds checkouts in production too.

Prints each scenario's rate with its ratio to the bare view, p99 latency, non-2xx/3xx answers,
and the database queries one request of each kind makes (counted in this process on the same
database). Target (issue 12): at least 200 survey submissions per second.

    .venv/bin/python -m bench bench_front_page

Settings by environment: BENCH_SECONDS (5), BENCH_ROUNDS (2), BENCH_CONNECTIONS (32),
BENCH_WORKERS (2), BENCH_SCENARIOS (survey,entry,checkout: the ones to run). Rate limits are
raised out of the way (wrk sends everything from one address) but still counted, so their round
trips are measured.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.bench_decision import free_port, wait_ready, wrk
from bench.bench_draw import bench_database
from bench.bench_survey_results import QUESTIONS
from bench.environment import wrk_missing

ROOT = Path(__file__).resolve().parent.parent
TARGET_SUBMISSIONS_PER_SECOND = 200.0
SURVEY = "bench-front-page"
CAMPAIGN = "bench-front-page"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# In every address and token: the per-address limits' counts outlive a run (they are in Redis).
RUN = secrets.token_hex(3)

# Each wrk thread has one connection (wrk -tN -cN), so a thread's requests run one after another
# and the two pages of one submission cannot overtake each other. `setup` numbers the threads.
_THREADS_LUA = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
counter = 0
"""
SURVEY_LUA = (
    _THREADS_LUA
    + """
request = function()
  counter = counter + 1
  local token = "%(run)s-t" .. tid .. "-" .. math.floor((counter + 1) / 2)
  local body
  if counter %% 2 == 1 then
    body = "often=daily&topics=sport&topics=culture&page=1&draft=" .. token
  else
    body = "score=8&member=yes&page=2&draft=" .. token
  end
  return wrk.format("POST", "/surveys/%(slug)s/", %(headers)s, body)
end
"""
)
ENTRY_LUA = (
    _THREADS_LUA
    + """
request = function()
  counter = counter + 1
  local body = "email=%(run)s-t" .. tid .. "-" .. counter .. "%%40example.com"
    .. "&country=GB&age_confirmed=on&accept_terms=on&marketing=on"
  return wrk.format("POST", "/surveys/%(slug)s/draw/enter/", %(headers)s, body)
end
"""
)
CHECKOUT_LUA = (
    _THREADS_LUA
    + """
request = function()
  counter = counter + 1
  local body = "frequency=one_off&amount=2500&name=Reader&email=%(run)s-t" .. tid .. "-"
    .. counter .. "%%40example.com&placement=epic&variant=control"
  return wrk.format("POST", "/support/%(slug)s/", %(headers)s, body)
end
"""
)
BARE_LUA = """
wrk.method = "POST"
wrk.body = "often=daily&topics=sport&page=1&draft=abcdefgh"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def lua_headers() -> str:
    return "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in FORM.items()) + "}"


def build() -> None:
    """Create the survey (two pages), its open draw, and a live campaign to give to."""
    from django.db import transaction
    from django.utils import timezone

    from campaigns.models import Campaign, Variant
    from surveys.models import DrawTerms, Prize, PrizeDraw, Question, Survey
    from surveys.services.draws import draw_open
    from surveys.services.surveys import survey_version_publish

    survey = Survey.objects.create(title="Front page survey", slug=SURVEY, status="open")
    for position, question in enumerate(QUESTIONS):
        Question.objects.create(survey=survey, position=position, **question)
    survey_version_publish(survey=survey)
    now = timezone.now()
    draw = PrizeDraw.objects.create(
        survey=survey,
        title="Front page draw",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=7),
    )
    Prize.objects.create(draw=draw, name="A year's subscription", quantity=3)
    DrawTerms.objects.create(draw=draw, version=1, text="Rules of the draw.")
    draw_open(draw_id=draw.pk)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name="Front page appeal",
            slug=CAMPAIGN,
            status=Campaign.Status.LIVE,
            amounts={
                "monthly": {"presets": [500, 1000, 2000], "default": 1000},
                "one_off": {"presets": [1000, 2500, 5000], "default": 2500},
            },
        )
        Variant.objects.create(campaign=campaign, key="control", weight=100)


def queries_per_request() -> dict[str, list[int]]:
    """Return the queries each request of a scenario makes, counted in this process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()

    def counted(path: str, data: dict[str, Any], expect: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.post(path, data)
        # The embedded checkout answers its page (200), the demo's redirects (302).
        assert response.status_code in (expect, 200), (path, response.status_code)
        return len(queries.captured_queries)

    survey_path = f"/surveys/{SURVEY}/"
    # A reader opens the survey before answering: the process then holds its copy of it (the
    # first request of each web process reads the survey and its version: two queries more).
    client.get(survey_path)
    token = "query-count-1"  # noqa: S105 - a draft token, not a secret
    first = {"often": "daily", "topics": ["sport"], "page": "1", "draft": token}
    last = {"score": "8", "member": "yes", "page": "2", "draft": token}
    entry = {
        "email": f"query-count-{RUN}@example.com",
        "country": "GB",
        "age_confirmed": "on",
        "accept_terms": "on",
    }
    checkout = {
        "frequency": "one_off",
        "amount": "2500",
        "email": f"query-count-{RUN}@example.com",
        "placement": "epic",
    }
    return {
        "survey": [counted(survey_path, first, 302), counted(survey_path, last, 302)],
        "entry": [counted(f"/surveys/{SURVEY}/draw/enter/", entry, 200)],
        "checkout": [counted(f"/support/{CAMPAIGN}/", checkout, 302)],
    }


def table_count(model: Any) -> int:
    return int(model.objects.count())


def procfile_web(*, port: int, workers: int) -> list[str]:
    """Return the Procfile's web command as production runs it, on loopback at `port`."""
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    values = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
    command = re.sub(
        r"\$\{(\w+):-([^}]*)\}", lambda m: values.get(m[1], m[2]), line.removeprefix("web:")
    )
    args = shlex.split(command)
    args[0] = shutil.which(args[0], path=str(Path(sys.executable).parent)) or args[0]
    args[args.index("--host") + 1] = "127.0.0.1"
    return args


def server_env(port: int, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.decision_site",
        DATABASE_URL=database_url,
        DJANGO_DEBUG="false",
        # wrk sends everything from one address: keep the limiters' work, never their refusal.
        SURVEYS_RATE_LIMIT_PER_IP=str(10**12),
        PAYMENTS_CHECKOUT_LIMIT_PER_IP=str(10**12),
        PORT=str(port),
    )
    return env


def stripe_emulator_start() -> subprocess.Popen[bytes]:
    """Serve the Stripe emulator on loopback and point this process and the server at it."""
    port = free_port()
    emulator = subprocess.Popen(
        [sys.executable, "-m", "stripe_emulator", "--port", str(port), "--latency", "0"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.environ.update(
        STRIPE_API_BASE=f"http://127.0.0.1:{port}",
        STRIPE_SECRET_KEY="sk_test_bench",  # noqa: S106 - the emulator accepts any test key
        STRIPE_PUBLISHABLE_KEY="pk_test_bench",
        STRIPE_WEBHOOK_SECRET="whsec_bench",  # noqa: S106
        PAYMENTS_DEMO="false",
        STRIPE_READS_PER_SECOND="90",
        STRIPE_WRITES_PER_SECOND="90",
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return emulator
        except OSError:
            time.sleep(0.2)
    emulator.kill()
    raise RuntimeError("the Stripe emulator did not start within 30 s")


def broker_purge() -> None:
    """Drop the confirmation mails the entries queued: no worker runs here to send them."""
    import redis

    url = os.environ["REDIS_URL"]
    redis.Redis.from_url(url).delete("celery")


def main() -> None:
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing:
        print(f"bench_front_page needs PostgreSQL and Redis: set {' and '.join(missing)}. Skipped.")
        return
    if reason := wrk_missing("bench_front_page"):
        print(reason)
        return
    seconds = env_int("BENCH_SECONDS", 5)
    rounds = env_int("BENCH_ROUNDS", 2)
    connections = env_int("BENCH_CONNECTIONS", 32)
    workers = env_int("BENCH_WORKERS", 2)
    chosen = os.environ.get("BENCH_SCENARIOS", "survey,entry,checkout").split(",")
    # The Stripe settings are for this benchmark's server only: the next benchmark of a
    # `make bench` run gets the environment back as it was.
    saved = dict(os.environ)
    load_before = os.getloadavg()
    emulator = stripe_emulator_start()
    try:
        figures, queries, provider = measure(seconds, rounds, connections, workers, chosen)
    finally:
        os.killpg(emulator.pid, signal.SIGTERM)
        emulator.wait(timeout=20)
        os.environ.clear()
        os.environ.update(saved)
    report(figures, queries, provider, seconds, rounds, connections, workers, load_before)


def measure(
    seconds: int, rounds: int, connections: int, workers: int, chosen: list[str]
) -> tuple[dict[str, list[dict[str, float]]], dict[str, list[int]], str]:
    """Build the data, serve it, drive it with wrk; return the figures by scenario."""
    # The server's own folder: collectstatic's manifest, as a deployment builds it.
    var = tempfile.TemporaryDirectory(prefix="bench-front-page-")
    os.environ["VAR_DIR"] = var.name
    with var, bench_database("bench_front_page"):
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection

        call_command("collectstatic", "--noinput", verbosity=0)

        from payments.models import Contribution
        from surveys.models import Entry, Response

        settings.SURVEYS_RATE_LIMIT_PER_IP = 10**12
        settings.PAYMENTS_CHECKOUT_LIMIT_PER_IP = 10**12
        build()
        provider = f"Stripe emulator at {os.environ['STRIPE_API_BASE']}, zero latency"
        queries = queries_per_request()

        database_url = urlunsplit(
            urlsplit(os.environ["DATABASE_URL"])._replace(
                path="/" + connection.settings_dict["NAME"]
            )
        )
        connection.close()  # the server's workers are the database's clients from here on
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            procfile_web(port=port, workers=workers),
            cwd=ROOT,
            env=server_env(port, database_url),
            start_new_session=True,
        )  # fmt: skip
        figures: dict[str, list[dict[str, float]]] = {"bare POST": []}
        figures.update({name: [] for name in ("survey", "entry", "checkout") if name in chosen})
        try:
            wait_ready(port, server)
            options = {"seconds": seconds, "connections": connections, "threads": connections}
            values = {"slug": SURVEY, "headers": lua_headers()}
            scenarios = {
                "survey": (Response, SURVEY_LUA, SURVEY),
                "entry": (Entry, ENTRY_LUA, SURVEY),
                "checkout": (Contribution, CHECKOUT_LUA, CAMPAIGN),
            }
            # Warm up: each worker loads its templates and opens its connections.
            wrk(base, SURVEY_LUA % {**values, "run": f"{RUN}warm"}, **{**options, "seconds": 2})
            for round_number in range(rounds):
                run = f"{RUN}r{round_number}"
                result = wrk(f"{base}/bench/bare/", BARE_LUA, **options)
                result["rate"] = result["rps"]
                figures["bare POST"].append(result)

                for name, (model, script, slug) in scenarios.items():
                    if name not in figures:
                        continue
                    before = table_count(model)
                    result = wrk(base, script % {**values, "slug": slug, "run": run}, **options)
                    result["rate"] = (table_count(model) - before) / seconds
                    figures[name].append(result)
                connection.close()
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=20)
            broker_purge()

    return figures, queries, provider


def report(
    figures: dict[str, list[dict[str, float]]],
    queries: dict[str, list[int]],
    provider: str,
    seconds: int,
    rounds: int,
    connections: int,
    workers: int,
    load_before: tuple[float, float, float],
) -> None:
    load = os.getloadavg()
    print(
        f"granian (the Procfile) {workers} workers x {os.environ.get('WEB_THREADS', '8')} "
        f"threads, wrk -t{connections} -c{connections} -d{seconds}s x {rounds} "
        f"rounds (best rate, median p99); load average (1, 5, 15 min) before "
        f"{load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f}, after "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores (other work "
        f"included); checkouts through the {provider}"
    )
    bare = max(r["rate"] for r in figures["bare POST"])
    units = {"bare POST": "req/s", "survey": "subm/s", "entry": "entries/s", "checkout": "chk/s"}
    counts = {"bare POST": "0", **{k: "+".join(map(str, v)) for k, v in queries.items()}}
    print(f"{'scenario':<11}{'rate':>10} {'unit':<10}{'vs bare':>8}{'p99 ms':>9}{'errors':>9}"
          f"{'queries/request':>17}")  # fmt: skip
    for name, runs in figures.items():
        rate = max(r["rate"] for r in runs)
        p99 = sorted(r["p99_ms"] for r in runs)[len(runs) // 2]
        bad = sum(r["non_2xx"] + r["socket_errors"] for r in runs)
        print(f"{name:<11}{rate:>10.0f} {units[name]:<10}{rate / bare:>8.0%}{p99:>9.1f}{bad:>9.0f}"
              f"{counts[name]:>17}")  # fmt: skip
    survey = max(r["rate"] for r in figures["survey"])
    ok = survey >= TARGET_SUBMISSIONS_PER_SECOND
    print(
        f"{'PASS' if ok else 'MISS'}  survey submissions over HTTP: {survey:.0f}/s "
        f"(target >= {TARGET_SUBMISSIONS_PER_SECOND:.0f}/s; each is two requests)"
    )


if __name__ == "__main__":
    main()
