"""Decision endpoint and beacon intake against a bare Django view, same server, same run.

Starts the production web server (granian, `config.wsgi:application`, 2 workers) on loopback
with PostgreSQL and Redis from DATABASE_URL and REDIS_URL, then drives it with wrk (Debian's
`wrk` package): the bare view's GET, the decision endpoint, the bare view's POST, the event
intake, alternating, each for BENCH_SECONDS; plus the bare view through the same short path the
embed's endpoints take (see campaigns/middleware.py), to show the decision's own cost. Prints
requests per second and p99 latency with their ratios to the bare view, the database
transactions during the intake run, and checks that the flushed totals equal the beacons the
server accepted (wrk's run) and an exact, bounded batch sent after it.

Targets (issue): decision >= 90% of the bare view's throughput and p99 <= 2x; intake >= 80%
with no database write per event. It creates a campaign named `bench-decision` in the database
and deletes it at the end. Settings by environment: BENCH_SECONDS (4), BENCH_ROUNDS (2),
BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_WORKERS (2), BENCH_EXACT_BEACONS (2000).
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import median

from bench.environment import wrk_missing

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-decision"
DECISION_QUERY = (
    "/api/decision/?placements=banner,epic&section=local&tags=council,parks&url=/news/story"
    "&device=desktop&returning=1&reads=0,1,3&history=" + SLUG + "~~7200,90000"
)
SENDER_WAIT = 1.5
EVENT = {"campaign": SLUG, "variant": "b", "placement": "banner", "event": "view"}

# The same requests go to the bare view and to the decision endpoint (the bare view ignores the
# query string), so wrk does the same work for both: a different reader id on every request.
GET_LUA = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "%s&rid=reader-" .. counter .. "-" .. math.random(1000000))
end
"""
POST_LUA = """
wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
"""


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(port: int, bare_json: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.decision_site",
        BENCH_BARE_JSON=bare_json,
        DJANGO_DEBUG="false",
        CAMPAIGN_EVENTS_STORE="redis",
        # wrk sends every beacon from one address: keep the limiter's work, never its refusal.
        CAMPAIGN_BEACON_LIMIT_PER_MINUTE=str(10**12),
        PORT=str(port),
    )
    return env


def django_setup() -> None:
    os.environ["CAMPAIGN_EVENTS_STORE"] = "redis"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def campaign_create() -> int:
    from django.db import transaction

    from campaigns.models import Campaign, Variant
    from campaigns.services import campaigns_version_bump

    Campaign.objects.filter(slug=SLUG).delete()
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name="Benchmark",
            slug=SLUG,
            status=Campaign.Status.LIVE,
            amounts={
                "monthly": {"presets": [500, 1000, 2000], "default": 1000},
                "one_off": {"presets": [1000, 2500, 5000], "default": 2500},
            },
            body="We need your help now. Support from readers like you keeps the site open.",
            counter_text="Over 5,000 readers like you have already stepped up",
            sections_include="local,news",
            max_views=100,
        )
        Variant.objects.create(campaign=campaign, key="control", weight=50)
        Variant.objects.create(campaign=campaign, key="b", weight=50, headline="Keep us free")
        campaigns_version_bump()
    return campaign.pk


def request(port: int, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": "text/plain;charset=UTF-8"} if body else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the web server exited during start-up")
        try:
            if request(port, "GET", "/bench/bare/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the web server did not answer within 30 s")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, script: str, *, seconds: int, connections: int, threads: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                handle.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        ).stdout
    finally:
        os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * _UNITS[p99.group(2)] if p99 else float("nan"),
        "requests": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": 1 if errors else 0,
    }


def db_transactions() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            [connection.settings_dict["NAME"]],
        )
        return int(cursor.fetchone()[0])


def flushed_total(campaign_id: int) -> int:
    from django.db.models import Sum

    from campaigns.models import EventCount

    return EventCount.objects.filter(campaign_id=campaign_id).aggregate(n=Sum("count"))["n"] or 0


def send_exact(port: int, count: int) -> int:
    """Send `count` beacons over 8 keep-alive connections; return how many got 204."""
    body = json.dumps(EVENT)

    def worker(n: int) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        accepted = 0
        for _ in range(n):
            conn.request("POST", "/api/events/", body=body, headers={"Content-Type": "text/plain"})
            response = conn.getresponse()
            response.read()
            accepted += response.status == 204
        conn.close()
        return accepted

    shares = [count // 8 + (1 if i < count % 8 else 0) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(worker, shares))


def main() -> None:
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing:
        print(f"bench_decision needs PostgreSQL and Redis: set {' and '.join(missing)}. Skipped.")
        return
    if reason := wrk_missing("bench_decision"):
        print(reason)
        return
    seconds = env_int("BENCH_SECONDS", 4)
    rounds = env_int("BENCH_ROUNDS", 2)
    connections = env_int("BENCH_CONNECTIONS", 32)
    threads = env_int("BENCH_THREADS", 2)
    exact = env_int("BENCH_EXACT_BEACONS", 2000)

    django_setup()
    from campaigns import events

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True
    )
    campaign_id = campaign_create()
    events.events_flush()  # start from an empty Redis counter for a clean comparison

    # The bare view answers exactly the JSON the decision endpoint gives such a request.
    from django.test import Client

    probe = Client(HTTP_HOST="127.0.0.1").get(DECISION_QUERY + "&rid=reader-probe")
    answer = probe.content
    assert probe.status_code == 200 and b'"campaign":"bench-decision"' in answer, answer

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    granian = shutil.which("granian", path=str(Path(sys.executable).parent)) or "granian"
    server = subprocess.Popen(
        [
            granian,
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(env_int("BENCH_WORKERS", 2)),
            "--no-ws",
            "config.wsgi:application",
        ],
        cwd=ROOT,
        env=server_env(port, answer.decode()),
        start_new_session=True,
    )
    try:
        wait_ready(port, server)
        assert request(port, "GET", "/bench/bare/")[1] == answer
        # Warm up: both workers compile the campaigns and open their connections.
        for _ in range(50):
            request(port, "GET", DECISION_QUERY + "&rid=reader-warm")
            request(port, "POST", "/api/events/", json.dumps(EVENT))
        time.sleep(1)
        events.events_flush()
        before_counts = flushed_total(campaign_id)

        runs: dict[str, list[dict[str, float]]] = {
            "bare GET": [],
            "short GET": [],
            "decision": [],
            "bare POST": [],
            "short POST": [],
            "intake": [],
        }
        decision_lua = GET_LUA % DECISION_QUERY
        bare_lua = GET_LUA % DECISION_QUERY.replace("/api/decision/", "/bench/bare/")
        short_lua = GET_LUA % DECISION_QUERY.replace("/api/decision/", "/bench/bare-short/")
        post_lua = POST_LUA % json.dumps(EVENT)
        accepted_by_wrk = 0
        xacts_during_intake = 0
        options = {"seconds": seconds, "connections": connections, "threads": threads}
        for _ in range(rounds):
            runs["bare GET"].append(wrk(base, bare_lua, **options))
            runs["short GET"].append(wrk(base, short_lua, **options))
            runs["decision"].append(wrk(base, decision_lua, **options))
            runs["bare POST"].append(wrk(f"{base}/bench/bare/", post_lua, **options))
            runs["short POST"].append(wrk(f"{base}/bench/bare-short/", post_lua, **options))
            before = db_transactions()
            result = wrk(f"{base}/api/events/", post_lua, **options)
            time.sleep(SENDER_WAIT)  # let PostgreSQL publish its statistics
            xacts_during_intake += db_transactions() - before - 2  # our own two reads
            runs["intake"].append(result)
            accepted_by_wrk += int(result["requests"] - result["non_2xx"])

        time.sleep(SENDER_WAIT)  # each worker sends its in-memory sums to Redis every second
        pending = events.pending_total()
        events.events_flush()
        flushed_wrk = flushed_total(campaign_id) - before_counts
        accepted_exact = send_exact(port, exact)
        time.sleep(SENDER_WAIT)
        events.events_flush()
        flushed_exact = flushed_total(campaign_id) - before_counts - flushed_wrk
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        from campaigns.models import Campaign

        Campaign.objects.filter(slug=SLUG).delete()

    def best(name: str) -> dict[str, float]:
        return {
            "rps": max(r["rps"] for r in runs[name]),
            "p99_ms": median(r["p99_ms"] for r in runs[name]),
            "non_2xx": sum(r["non_2xx"] for r in runs[name]),
        }

    figures = {name: best(name) for name in runs}
    print(
        f"granian {env_int('BENCH_WORKERS', 2)} workers, wrk -t{threads} -c{connections} "
        f"-d{seconds}s x {rounds} rounds (best req/s, median p99)"
    )
    print(f"{'endpoint':<12}{'req/s':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name, figure in figures.items():
        print(
            f"{name:<12}{figure['rps']:>10.0f}{figure['p99_ms']:>10.2f}{figure['non_2xx']:>10.0f}"
        )
    decision_ratio = figures["decision"]["rps"] / figures["bare GET"]["rps"]
    decision_p99 = figures["decision"]["p99_ms"] / figures["bare GET"]["p99_ms"]
    intake_ratio = figures["intake"]["rps"] / figures["bare POST"]["rps"]
    intake_p99 = figures["intake"]["p99_ms"] / figures["bare POST"]["p99_ms"]
    own_decision = figures["decision"]["rps"] / figures["short GET"]["rps"]
    own_intake = figures["intake"]["rps"] / figures["short POST"]["rps"]
    print(
        "Bare views go through Django's whole middleware stack; the embed's endpoints take a short "
        "path (campaigns.middleware).\nAgainst a bare view on that same short path: decision "
        f"{own_decision:.0%}, intake {own_intake:.0%} of its throughput (their own cost)."
    )
    checks = [
        ("decision throughput vs bare", f"{decision_ratio:.0%}", decision_ratio >= 0.9, ">= 90%"),
        ("decision p99 vs bare", f"{decision_p99:.2f}x", decision_p99 <= 2.0, "<= 2x"),
        ("intake throughput vs bare", f"{intake_ratio:.0%}", intake_ratio >= 0.8, ">= 80%"),
        ("intake p99 vs bare", f"{intake_p99:.2f}x", True, "(reported)"),
        (
            "database transactions during intake",
            f"{xacts_during_intake} for {accepted_by_wrk} beacons",
            xacts_during_intake < max(10, accepted_by_wrk // 1000),
            "none per event",
        ),
        (
            "beacons accepted by the server (wrk) = flushed",
            f"{pending} counted, {flushed_wrk} flushed, wrk saw {accepted_by_wrk}",
            pending == flushed_wrk and flushed_wrk >= accepted_by_wrk,
            "equal",
        ),
        (
            "exact batch: sent = flushed",
            f"{accepted_exact} sent, {flushed_exact} flushed",
            accepted_exact == exact == flushed_exact,
            "equal",
        ),
    ]
    for name, value, ok, target in checks:
        print(f"{'PASS' if ok else 'MISS'}  {name}: {value} (target {target})")
