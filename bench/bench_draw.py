"""A prize draw over many confirmed entries: close (freeze + fingerprint) and run (rank by
HMAC-SHA256, place winners and reserves) must finish in under 10 seconds for 1,000,000 entries.

Baseline in the same run: ranking the same ids by plain SHA-256 (no key), so the figure shows the
cost of the keyed hash and of the database work on top of it.

    BENCH_DRAW_ENTRIES=1000000 .venv/bin/python -m bench bench_draw

Runs against a throw-away database next to the configured one (PostgreSQL when DATABASE_URL is
set, SQLite otherwise); entries are loaded with COPY (bulk_create on SQLite).
"""

import hashlib
import heapq
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from bench.environment import fresh_database

TARGET_SECONDS = 10.0


@contextmanager
def bench_database(name: str) -> Iterator[None]:
    """Set Django up on a fresh, migrated database that is dropped afterwards."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()

    from config.celery import app

    # Winners' mails are enqueued after commit; keep them off the real broker (no worker here).
    app.conf.update(broker_url="memory://localhost/")
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    try:
        with fresh_database(name):
            yield
    finally:
        teardown_test_environment()


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def copy_rows(table: str, columns: list[str], rows: Iterator[tuple[Any, ...]], model: Any) -> None:
    """Load rows fast: COPY on PostgreSQL, batched bulk_create elsewhere."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            # Text format written in large blocks: far faster than one write_row per row.
            chunk: list[str] = []
            for row in rows:
                chunk.append("\t".join(_copy_text(value) for value in row))
                if len(chunk) == 50_000:
                    copy.write("\n".join(chunk) + "\n")
                    chunk = []
            if chunk:
                copy.write("\n".join(chunk) + "\n")
        return
    batch = []
    for row in rows:
        batch.append(model(**dict(zip(columns, row, strict=True))))
        if len(batch) == 10_000:
            model.objects.bulk_create(batch)
            batch = []
    model.objects.bulk_create(batch)


def build_draw(entries: int) -> tuple[Any, list[str]]:
    from django.utils import timezone

    from surveys.models import DrawTerms, Entry, Prize, PrizeDraw, Survey
    from surveys.services.draws import draw_open

    now = timezone.now()
    survey = Survey.objects.create(title="Bench", slug="bench", status="open")
    draw = PrizeDraw.objects.create(
        survey=survey,
        title="Bench draw",
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=1),
        reserves_count=10,
    )
    Prize.objects.create(draw=draw, name="Prize", quantity=5)
    terms = DrawTerms.objects.create(draw=draw, version=1, text="Rules")
    draw_open(draw_id=draw.pk)
    ids = [secrets.token_hex(8) for _ in range(entries)]
    columns = [
        "draw_id", "public_id", "email", "email_normalised", "country", "age_confirmed",
        "terms_id", "status", "flagged_fast", "created_at", "confirmed_at",
    ]  # fmt: skip
    rows = (
        (draw.pk, i, f"{i}@example.com", f"{i}@example.com", "GB", True, terms.pk,
         "confirmed", False, now, now)
        for i in ids
    )  # fmt: skip
    copy_rows("surveys_entry", columns, rows, Entry)
    PrizeDraw.objects.filter(pk=draw.pk).update(closes_at=now)
    return draw, ids


def baseline_plain_hash(ids: list[str], places: int) -> float:
    started = time.perf_counter()
    sha256 = hashlib.sha256
    heapq.nsmallest(places, ((sha256(i.encode()).digest(), i) for i in ids))
    return time.perf_counter() - started


def main() -> None:
    entries = int(os.environ.get("BENCH_DRAW_ENTRIES", "1000000"))
    with bench_database("bench_surveys_draw"):
        from surveys import proof
        from surveys.models import DrawPlacement, PrizeDraw
        from surveys.selectors import draw_proof_bundle
        from surveys.services.draws import draw_close, draw_run

        started = time.perf_counter()
        draw, ids = build_draw(entries)
        print(f"built {entries:,} confirmed entries in {time.perf_counter() - started:.1f}s")

        baseline = baseline_plain_hash(ids, 15)
        started = time.perf_counter()
        key = proof.draw_key(seed=PrizeDraw.objects.get(pk=draw.pk).seed)
        proof.ranking_top(key=key, entry_ids=ids, count=15)
        hmac_only = time.perf_counter() - started

        started = time.perf_counter()
        draw_close(draw_id=draw.pk)
        closed = time.perf_counter() - started
        started = time.perf_counter()
        draw_run(draw_id=draw.pk)
        ran = time.perf_counter() - started
        total = closed + ran
        assert DrawPlacement.objects.filter(draw=draw).count() == min(15, entries)

        print(f"baseline: plain SHA-256 ranking of the ids in memory   {baseline:6.2f}s")
        print(f"HMAC-SHA256 ranking of the ids in memory               {hmac_only:6.2f}s")
        print(f"draw_close (load {entries:,} ids, fingerprint, save)  {closed:6.2f}s")
        print(f"draw_run (load ids, re-check, rank, place, audit)      {ran:6.2f}s")
        verdict = "OK" if total < TARGET_SECONDS else "TOO SLOW"
        print(f"close + run: {total:.2f}s (target < {TARGET_SECONDS:.0f}s): {verdict}")

        started = time.perf_counter()
        bundle = draw_proof_bundle(draw=PrizeDraw.objects.get(pk=draw.pk))
        built = time.perf_counter() - started
        started = time.perf_counter()
        problems = proof.bundle_verify(json.loads(json.dumps(bundle)))
        verified = time.perf_counter() - started
        assert problems == [], problems
        print(f"proof bundle built in {built:.2f}s; re-verified from the bundle in {verified:.2f}s")


if __name__ == "__main__":
    main()
