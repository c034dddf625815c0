"""Finance exports and dashboard over a large ledger, in PostgreSQL.

Builds BENCH_FINANCE_ROWS payments (default 1,000,000) spread over 2025 in a database of its own
(created and dropped here), with the subscriptions behind them (a quarter of which raised their
amount sixty days in), then measures, each against a baseline taken in the same run:

- the CSV export (`manage.py export_contributions`, in a child process: wall time and peak RSS)
  against PostgreSQL's own `COPY (SELECT ...) TO STDOUT` of the same rows;
- the XLSX export (same command, `--format xlsx`);
- the dashboard's query for the year (`finance.selectors.monthly_summary`) against one bare
  GROUP BY over the payments, with the per-query times of the first call;
- what the dashboard's rollup trigger adds to one ledger write (a payment's fee and net changing
  in its own transaction), against the same write with the trigger disabled, alternating, and
  how long compacting the changes appended meanwhile takes.

Targets: CSV under 30 s and 200 MB, XLSX under 3 minutes and 200 MB, dashboard under 1 s. Peak
memory is each export's own (see `LAUNCHER`), whatever this process held before.
Needs PostgreSQL: BENCH_FINANCE_DATABASE_URL, or DATABASE_URL's server with the database name
`rs_bench_finance`, or postgres://postgres@127.0.0.1:5432/rs_bench_finance.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
TARGET_CSV_SECONDS = 30.0
TARGET_CSV_MB = 200.0
TARGET_XLSX_SECONDS = 180.0
TARGET_XLSX_MB = 200.0
TARGET_DASHBOARD_SECONDS = 1.0

POPULATE = [
    """INSERT INTO payments_supporter (email, name, created_at, updated_at)
       SELECT 'reader' || i || '@example.com',
              CASE WHEN i % 50 = 0 THEN '=HYPERLINK("x")' ELSE 'Reader Zoë ' || i END,
              now(), now()
       FROM generate_series(1, %(supporters)s) i""",
    """INSERT INTO payments_contribution (
           supporter_id, name, frequency, amount_minor, fee_cover, fee_cover_minor, currency,
           status,
           provider, livemode, stripe_payment_intent_id, marketing_consent,
           marketing_consent_text, campaign_id, variant_key, placement, article_url, referrer,
           utm_source, utm_medium, utm_campaign, utm_content, utm_term, first_paid_at,
           created_at, updated_at)
       SELECT s.id, s.name,
              CASE WHEN s.id % 3 = 0 THEN 'monthly' WHEN s.id % 10 = 1 THEN 'annual'
                   ELSE 'one_off' END,
              500 + (s.id * 37) % 5000, false, 0,
              (ARRAY['EUR', 'EUR', 'EUR', 'GBP', 'USD'])[1 + s.id % 5],
              'paid', 'stripe', false, '', false, '',
              (SELECT min(id) FROM campaigns_campaign) + s.id % 3,
              (ARRAY['control', 'b'])[1 + s.id % 2], 'epic', '', '', '', '', '', '', '',
              timestamptz '2025-01-01 00:00+00' + (s.id % 365) * interval '1 day',
              now(), now()
       FROM payments_supporter s""",
    """INSERT INTO payments_subscription (
           contribution_id, stripe_subscription_id, status, amount_minor, currency, interval,
           cancel_at_period_end, canceled_at, ended_at, cancel_reason,
           stripe_cancellation_reason, stripe_cancellation_feedback, stripe_customer_id,
           created_at, updated_at)
       SELECT c.id, 'sub_' || c.id,
              CASE WHEN c.id % 7 = 0 THEN 'canceled' ELSE 'active' END,
              c.amount_minor, c.currency,
              CASE WHEN c.frequency = 'annual' THEN 'year' ELSE 'month' END, false,
              CASE WHEN c.id % 7 = 0 THEN c.first_paid_at + interval '90 days' END,
              CASE WHEN c.id % 7 = 0 THEN c.first_paid_at + interval '90 days' END,
              '', '', '', 'cus_' || c.supporter_id, now(), now()
       FROM payments_contribution c WHERE c.frequency <> 'one_off'""",
    # Every fourth subscription raised its amount by 1.00 sixty days after its first payment.
    """INSERT INTO payments_subscriptionpastamount (
           subscription_id, amount_minor, valid_from, valid_until, created_at)
       SELECT s.id, s.amount_minor - 100, NULL, c.first_paid_at + interval '60 days', now()
       FROM payments_subscription s JOIN payments_contribution c ON c.id = s.contribution_id
       WHERE c.id % 4 = 0""",
    """INSERT INTO payments_payment (
           contribution_id, kind, status, stripe_charge_id, stripe_balance_transaction_id,
           gross_minor, fee_minor, net_minor, currency, paid_at, failed_at, failure_code,
           failure_message, stripe_payout_id, payment_method_type, refunded_minor,
           disputed_minor, livemode, settlement_currency, settlement_amount_minor,
           created_at, updated_at)
       SELECT c.id,
              CASE WHEN c.frequency = 'one_off' THEN 'one_off' ELSE 'subscription_renewal' END,
              CASE WHEN g % 33 = 0 THEN 'failed' ELSE 'succeeded' END,
              'ch_' || g, 'txn_' || g,
              c.amount_minor, c.amount_minor * 3 / 100 + 25,
              c.amount_minor - (c.amount_minor * 3 / 100 + 25), c.currency,
              CASE WHEN g % 33 <> 0 THEN t.at END, CASE WHEN g % 33 = 0 THEN t.at END,
              '', '', 'po_' || (g * 52 / %(rows)s),
              (ARRAY['card', 'card', 'sepa_debit'])[1 + g % 3],
              CASE WHEN g % 100 = 7 AND g % 33 <> 0 THEN c.amount_minor ELSE 0 END,
              0, false, c.currency, c.amount_minor, t.at, t.at
       FROM generate_series(1, %(rows)s) g
       CROSS JOIN LATERAL (SELECT timestamptz '2025-01-01 00:00+00'
                                  + (g::float8 / %(rows)s) * interval '365 days' AS at) t
       JOIN payments_contribution c ON c.id = %(first_contribution)s + g % %(supporters)s""",
    """INSERT INTO payments_refund (
           payment_id, stripe_refund_id, amount_minor, currency, status, reason, refunded_at,
           stripe_balance_transaction_id, stripe_payout_id, note, failure_reason,
           stripe_failure_balance_transaction_id, settlement_net_minor, settlement_currency,
           created_at, updated_at)
       SELECT p.id, 're_' || p.id, p.gross_minor, p.currency, 'succeeded', '',
              p.paid_at + interval '10 days', '', '', '', '', '', -p.gross_minor, p.currency,
              now(), now()
       FROM payments_payment p WHERE p.refunded_minor > 0""",
    """INSERT INTO payments_dispute (
           payment_id, stripe_dispute_id, amount_minor, fee_minor, currency, status, reason,
           opened_at, closed_at, created_at, updated_at)
       SELECT p.id, 'dp_' || p.id, p.gross_minor, 1500, p.currency, 'lost', 'fraudulent',
              p.paid_at + interval '20 days', p.paid_at + interval '60 days', now(), now()
       FROM payments_payment p WHERE p.id % 1000 = 11 AND p.status = 'succeeded'""",
    """INSERT INTO payments_disputemovement (
           dispute_id, stripe_balance_transaction_id, amount_minor, fee_minor, net_minor,
           currency, moved_at, stripe_payout_id, created_at, updated_at)
       SELECT d.id, 'txn_' || d.stripe_dispute_id, -d.amount_minor, d.fee_minor,
              -d.amount_minor - d.fee_minor, d.currency, d.opened_at, '', now(), now()
       FROM payments_dispute d""",
]

BASELINE_COPY = """
COPY (
    SELECT p.id, p.paid_at AT TIME ZONE 'Europe/London', p.created_at AT TIME ZONE 'Europe/London',
           p.status, p.kind, c.frequency, p.currency, p.gross_minor / 100.0, p.fee_minor / 100.0,
           p.net_minor / 100.0, p.refunded_minor / 100.0, p.disputed_minor / 100.0,
           p.payment_method_type, k.slug, c.variant_key, c.placement, s.name, s.email,
           p.contribution_id, p.stripe_charge_id, p.stripe_invoice_id, p.stripe_payout_id,
           (SELECT arrival_date FROM payments_payout o
            WHERE o.stripe_payout_id = p.stripe_payout_id)
    FROM payments_payment p
    LEFT JOIN payments_contribution c ON c.id = p.contribution_id
    LEFT JOIN payments_supporter s ON s.id = c.supporter_id
    LEFT JOIN campaigns_campaign k ON k.id = c.campaign_id
    ORDER BY p.id
) TO STDOUT WITH CSV HEADER
"""

BASELINE_GROUP_BY = """
SELECT date_trunc('month', paid_at AT TIME ZONE 'Europe/London'), currency,
       sum(gross_minor), sum(fee_minor), sum(net_minor), count(*)
FROM payments_payment
WHERE status = 'succeeded' AND paid_at >= '2025-01-01' AND paid_at < '2026-01-01'
GROUP BY 1, 2
"""

# Campaigns have many fields with defaults of their own: create them through the ORM.
CAMPAIGNS = """
import django
django.setup()
from campaigns.models import Campaign
for i in (1, 2, 3):
    Campaign.objects.create(name=f"Campaign {i}", slug=f"bench-{i}", status="live")
"""

DASHBOARD = """
import json, time, datetime as dt
import django
django.setup()
from finance.filters import ReportFilters
from finance.selectors import monthly_summary
filters = ReportFilters(since=dt.date(2025, 1, 1), until=dt.date(2025, 12, 31))
from django.db import connection
from django.test.utils import CaptureQueriesContext
# The baseline again, just before the first call: the machine's load at this moment.
with connection.cursor() as cursor:
    started = time.perf_counter()
    cursor.execute(BASELINE)
    cursor.fetchall()
    baseline = time.perf_counter() - started
times = []
for _ in range(3):
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        rows = monthly_summary(filters=filters)
        times.append(time.perf_counter() - started)
    if len(times) == 1:
        first = [float(query["time"]) for query in queries.captured_queries]
print(json.dumps({"times": times, "rows": len(rows), "queries": first, "baseline": baseline}))
"""


def database_url() -> str:
    explicit = os.environ.get("BENCH_FINANCE_DATABASE_URL")
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path="/rs_bench_finance"))


def admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def child_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        LOG_LEVEL="WARNING",
        PUBLISHER_TIME_ZONE="Europe/London",
    )
    env.pop("REDIS_URL", None)
    return env


# Starts the measured command and reports its peak memory. Linux starts a new program's peak
# (ru_maxrss) at the peak of the process it replaces, and Python's subprocess replaces a copy of
# the caller: measured from here, the figure would be at least this process's own peak, which is
# large after other benchmarks in the same run (bench_draw's million ids: ~420 MB). Started from
# this small launcher, the export's figure is its own.
LAUNCHER = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(process.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a child process; return its wall time (s) and its own peak resident memory (MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".maxrss") as report:
        started = time.perf_counter()
        launched = subprocess.run(
            [sys.executable, "-c", LAUNCHER, report.name, *args], cwd=ROOT, env=env
        )
        elapsed = time.perf_counter() - started
        if launched.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed with exit code {launched.returncode}")
        return elapsed, int(report.read()) / 1024


# Defaults in this throw-away database for the NOT NULL columns the statements above do not name
# (Django keeps its defaults in Python): a column added to the ledger does not break the bench.
COLUMN_DEFAULTS = {
    "character varying": "''",
    "text": "''",
    "boolean": "false",
    "integer": "0",
    "bigint": "0",
    "smallint": "0",
    "jsonb": "'{}'",
    "timestamp with time zone": "now()",
    "date": "current_date",
}


def columns_default(conn: psycopg.Connection[Any]) -> None:
    missing = conn.execute(
        """SELECT table_name, column_name, data_type FROM information_schema.columns
           WHERE table_schema = 'public' AND is_nullable = 'NO' AND column_default IS NULL"""
    ).fetchall()
    for table, column, kind in missing:
        foreign_key = column.endswith("_id") and kind in ("integer", "bigint")
        if table.startswith("payments_") and column != "id" and not foreign_key:
            default = COLUMN_DEFAULTS.get(kind)
            if default is not None:
                conn.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET DEFAULT {default}')


def populate(url: str, rows: int) -> float:
    supporters = max(1, rows // 4)
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        columns_default(conn)
        for statement in POPULATE:
            first = conn.execute(
                "SELECT coalesce(min(id), 0) FROM payments_contribution"
            ).fetchone()
            params = {
                "rows": rows,
                "supporters": supporters,
                "first_contribution": first[0] if first else 0,
            }
            # Only the %(name)s placeholders are parameters; every other % is SQL's modulo.
            sql = re.sub(r"%(?!\()", "%%", statement)
            conn.execute(sql, params)
        conn.execute(
            """INSERT INTO payments_payout (stripe_payout_id, amount_minor, currency, arrival_date,
                   status, automatic, reconciliation_status, failure_code, livemode,
                   stripe_created_at, created_at, updated_at)
               SELECT DISTINCT stripe_payout_id, 0, 'EUR',
                      date '2025-01-03' + (substr(stripe_payout_id, 4)::int * 7), 'paid', true,
                      'completed', '', false, now(), now(), now()
               FROM payments_payment"""
        )
        # A bulk load leaves the visibility map unset until autovacuum passes (it does after
        # inserts too); vacuum now so index-only scans are measured as in steady state.
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


# One payment's fee and net changing (its balance transaction arriving), one transaction each,
# as a webhook writes it: with the dashboard's rollup trigger, and with it disabled.
WRITE_ROUNDS = 20
WRITES_PER_ROUND = 100
ROLLUP_TRIGGER = "finance_rollup_payments_update"


def _timed_writes(conn: psycopg.Connection[Any], ids: list[int], step: int) -> float:
    started = time.perf_counter()
    for payment_id in ids:
        with conn.transaction():
            conn.execute(
                "UPDATE payments_payment SET fee_minor = fee_minor + %s, "
                "net_minor = net_minor - %s, updated_at = now() WHERE id = %s",
                (step, step, payment_id),
            )
    return (time.perf_counter() - started) / len(ids)


def rollup_write_cost(url: str) -> None:
    """Print what the rollup trigger adds to a ledger write, and what compacting costs."""
    with psycopg.connect(url, autocommit=True) as conn:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM payments_payment WHERE status = 'succeeded' ORDER BY id LIMIT %s",
                (WRITES_PER_ROUND,),
            )
        ]
        with_trigger, without = [], []
        try:
            # Alternating rounds, so a change of the machine's load falls on both sides.
            for round_ in range(WRITE_ROUNDS):
                step = 1 if round_ % 2 == 0 else -1
                conn.execute(f"ALTER TABLE payments_payment ENABLE TRIGGER {ROLLUP_TRIGGER}")
                with_trigger.append(_timed_writes(conn, ids, step))
                conn.execute(f"ALTER TABLE payments_payment DISABLE TRIGGER {ROLLUP_TRIGGER}")
                without.append(_timed_writes(conn, ids, -step))
        finally:
            conn.execute(f"ALTER TABLE payments_payment ENABLE TRIGGER {ROLLUP_TRIGGER}")
        # The writes without the trigger were not counted: count the rollups afresh, then give
        # them a realistic tail of appended changes to fold.
        appended = conn.execute("SELECT count(*) FROM finance_paymentdaytotal").fetchone()
    env = child_env(url)
    subprocess.run(
        [sys.executable, "manage.py", "rollups_rebuild"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    with psycopg.connect(url, autocommit=True) as conn:
        for payment_id in ids:
            conn.execute(
                "UPDATE payments_payment SET fee_minor = fee_minor + 1 WHERE id = %s",
                (payment_id,),
            )
    compacted = subprocess.run(
        [sys.executable, "-c", COMPACT],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    folded, compact_seconds = json.loads(compacted.stdout.strip().splitlines()[-1])
    # Short rounds, alternating: the median of each side and of the rounds' ratios, as the
    # machine's load moves under both alike.
    typical_with, typical_without = statistics.median(with_trigger), statistics.median(without)
    ratio = statistics.median(w / wo for w, wo in zip(with_trigger, without, strict=True))
    print(
        f"ledger write (one payment's fee and net, own transaction): "
        f"{typical_with * 1000:.2f} ms with the rollup trigger, {typical_without * 1000:.2f} ms "
        f"without (medians of {WRITE_ROUNDS} alternating rounds of {len(ids)} each; "
        f"median ratio {ratio:.2f}x); rollup rows after them "
        f"{appended[0] if appended else 0:,}; "
        f"compacting {len(ids)} appended changes: {compact_seconds:.2f}s ({folded} rows "
        "folded away)",
        flush=True,
    )


COMPACT = """
import json, time
import django
django.setup()
from finance.rollups import rollups_compact
started = time.perf_counter()
folded = rollups_compact()
print(json.dumps([folded, time.perf_counter() - started]))
"""


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    rows = int(os.environ.get("BENCH_FINANCE_ROWS", "1000000"))
    url = database_url()
    server, name = admin_url(url)
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        print(f"bench_finance needs PostgreSQL ({error}); skipped.")
        return
    env = child_env(url)
    python = sys.executable
    try:
        subprocess.run(
            [python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        subprocess.run([python, "-c", CAMPAIGNS], cwd=ROOT, env=env, check=True)
        seconds = populate(url, rows)
        print(f"ledger: {rows:,} payments built in {seconds:.1f}s", flush=True)

        with psycopg.connect(url) as conn, conn.cursor() as cursor:
            started = time.perf_counter()
            copied = 0
            with cursor.copy(BASELINE_COPY) as copy:
                for block in copy:
                    copied += len(block)
            copy_seconds = time.perf_counter() - started
            started = time.perf_counter()
            cursor.execute(BASELINE_GROUP_BY)
            cursor.fetchall()
            group_seconds = time.perf_counter() - started
        print(f"baseline COPY TO STDOUT: {copy_seconds:.1f}s ({copied / 1e6:.0f} MB)", flush=True)

        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"(this process's own peak so far: {own:.0f} MB, not part of the exports')")
        with tempfile.TemporaryDirectory() as tmp:
            csv_path, xlsx_path = Path(tmp) / "p.csv", Path(tmp) / "p.xlsx"
            command = [python, "manage.py", "export_contributions", "--since", "2025-01-01"]
            csv_seconds, csv_mb = run_measured([*command, "--output", str(csv_path)], env)
            csv_size = csv_path.stat().st_size / 1e6
            print(
                f"CSV export: {csv_seconds:.1f}s, peak {csv_mb:.0f} MB, file {csv_size:.0f} MB "
                f"({csv_seconds / copy_seconds:.1f}x the COPY baseline; {rows / csv_seconds:,.0f} "
                f"rows/s) target < {TARGET_CSV_SECONDS:.0f}s and < {TARGET_CSV_MB:.0f} MB: "
                f"{verdict(csv_seconds < TARGET_CSV_SECONDS and csv_mb < TARGET_CSV_MB)}",
                flush=True,
            )
            if os.environ.get("BENCH_FINANCE_SKIP_XLSX") != "1":
                xlsx_seconds, xlsx_mb = run_measured(
                    [*command, "--format", "xlsx", "--output", str(xlsx_path)], env
                )
                print(
                    f"XLSX export: {xlsx_seconds:.1f}s, peak {xlsx_mb:.0f} MB, file "
                    f"{xlsx_path.stat().st_size / 1e6:.0f} MB ({xlsx_seconds / csv_seconds:.1f}x "
                    f"the CSV) target < {TARGET_XLSX_SECONDS:.0f}s and < {TARGET_XLSX_MB:.0f} MB: "
                    f"{verdict(xlsx_seconds < TARGET_XLSX_SECONDS and xlsx_mb < TARGET_XLSX_MB)}",
                    flush=True,
                )

        dashboard = DASHBOARD.replace("BASELINE", repr(BASELINE_GROUP_BY))
        result = subprocess.run(
            [python, "-c", dashboard], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        first, best = figures["times"][0], min(figures["times"])
        print(
            f"dashboard, a year: first {first:.2f}s, best of 3 {best:.2f}s, {figures['rows']} "
            f"summary rows (baseline one GROUP BY: {group_seconds:.2f}s, again just before the "
            f"first call: {figures['baseline']:.2f}s) target < "
            f"{TARGET_DASHBOARD_SECONDS:.0f}s: {verdict(first < TARGET_DASHBOARD_SECONDS)}",
            flush=True,
        )
        print(
            "dashboard, first call, seconds per query: "
            + ", ".join(f"{seconds:.2f}" for seconds in figures["queries"]),
            flush=True,
        )
        rollup_write_cost(url)
    finally:
        if os.environ.get("BENCH_FINANCE_KEEP") == "1":  # for profiling by hand afterwards
            print(f"kept the database {name}")
        else:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
