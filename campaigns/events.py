"""Impression, click and dismissal beacons: counted without a database write, flushed later.

With Redis, beacons are counted in a hash. Each web process first adds them up in memory and a
background thread sends the sums to Redis every CAMPAIGN_EVENTS_BUFFER_SECONDS (one pipelined
HINCRBY per bucket), and once more when the process exits; 0 sends every beacon at once. So a
process killed without warning loses at most that many seconds of its beacons, and a Redis
outage keeps the sums in memory until Redis answers again.

The periodic flush renames that hash atomically to a key named after a fresh flush id, applies
the counts in one transaction that also records the flush id (unique), then deletes the renamed
key. A flush that dies half-way leaves the renamed key
behind and the next run finishes it; a flush id already recorded is only deleted, so a batch is
never counted twice.

Without Redis (the embedded default) each beacon is applied at once with an atomic upsert on the
counts table in SQLite, which every process shares: correct across processes, one small write per
beacon, fine for a demo.
"""

import atexit
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from functools import cache

import redis
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from campaigns.models import Campaign, EventCount, EventFlush, EventKind, Placement

logger = logging.getLogger(__name__)

Bucket = tuple[int, str, str, str, date]


def _key_prefix() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX') or 'rs'}:campaigns:events"


def current_key() -> str:
    return _key_prefix()


def flush_key(flush_id: str) -> str:
    return f"{_key_prefix()}:flush:{flush_id}"


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def uses_redis() -> bool:
    return settings.CAMPAIGN_EVENTS_STORE == "redis"


def bucket_field(bucket: Bucket) -> str:
    campaign_id, variant_key, placement, kind, day = bucket
    return f"{campaign_id}|{variant_key}|{placement}|{kind}|{day.isoformat()}"


def bucket_parse(field: str) -> Bucket | None:
    try:
        campaign_id, variant_key, placement, kind, day = field.split("|")
        parsed = (int(campaign_id), variant_key, placement, kind, date.fromisoformat(day))
    except ValueError:
        return None
    if placement not in Placement.values or kind not in EventKind.values or not variant_key:
        return None
    return parsed


def counts_apply(counts: dict[Bucket, int]) -> None:
    """Add the counts to EventCount with one upsert (PostgreSQL and SQLite both have it)."""
    existing = set(
        Campaign.objects.filter(pk__in={b[0] for b in counts}).values_list("pk", flat=True)
    )
    rows = [(*bucket, n) for bucket, n in counts.items() if bucket[0] in existing and n > 0]
    if not rows:
        return
    table = connection.ops.quote_name(EventCount._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    sql = (
        f"INSERT INTO {table} (campaign_id, variant_key, placement, kind, day, count) "  # noqa: S608
        f"VALUES {values} ON CONFLICT (campaign_id, variant_key, placement, kind, day) "
        f"DO UPDATE SET count = {table}.count + excluded.count"
    )
    params = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


class EventBuffer:
    """This process's beacon sums on their way to Redis."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._owner_pid = 0

    def add(self, field: str) -> None:
        with self._lock:
            self._counts[field] = self._counts.get(field, 0) + 1
            if self._owner_pid != os.getpid():
                # First beacon in this process (web servers fork workers): start its sender.
                self._owner_pid = os.getpid()
                self._counts = {field: 1}
                threading.Thread(
                    target=self._send_forever, name="beacon-sender", daemon=True
                ).start()
                atexit.register(self.drain)

    def _send_forever(self) -> None:
        while True:
            time.sleep(settings.CAMPAIGN_EVENTS_BUFFER_SECONDS)
            self.drain()

    def pending(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def drain(self) -> None:
        """Send the sums to Redis now; keep them for the next try if Redis does not answer."""
        with self._lock:
            counts, self._counts = self._counts, {}
        if not counts:
            return
        try:
            pipe = redis_client().pipeline(transaction=True)
            for field, n in counts.items():
                pipe.hincrby(current_key(), field, n)
            pipe.execute()
        except redis.RedisError:
            logger.warning("campaign events: Redis did not answer; keeping the counts for later")
            with self._lock:
                for field, n in counts.items():
                    self._counts[field] = self._counts.get(field, 0) + n


buffer = EventBuffer()


def event_record(*, bucket: Bucket) -> None:
    """Count one beacon."""
    if uses_redis():
        if settings.CAMPAIGN_EVENTS_BUFFER_SECONDS > 0:
            buffer.add(bucket_field(bucket))
        else:
            redis_client().hincrby(current_key(), bucket_field(bucket), 1)
    else:
        with transaction.atomic():
            counts_apply({bucket: 1})


def _batch_apply(flush_id: str, raw: Mapping[bytes | str, bytes | str]) -> int:
    counts: dict[Bucket, int] = {}
    for field, value in raw.items():
        bucket = bucket_parse(field.decode() if isinstance(field, bytes) else field)
        if bucket is None:
            logger.warning("campaign events: dropping malformed counter field")
            continue
        counts[bucket] = counts.get(bucket, 0) + int(value)
    total = sum(counts.values())
    with transaction.atomic():
        try:
            with transaction.atomic():
                EventFlush.objects.create(flush_id=flush_id, events=total)
        except IntegrityError:
            return 0  # This batch was applied by an earlier run that died before deleting it.
        counts_apply(counts)
    return total


def events_flush() -> int:
    """Move counted beacons from Redis to the database; return how many were applied."""
    if not uses_redis():
        return 0
    client = redis_client()
    prefix = flush_key("")
    pending: list[str] = [key.decode() for key in client.scan_iter(match=prefix + "*", count=100)]
    flush_id = uuid.uuid4().hex
    try:
        client.rename(current_key(), flush_key(flush_id))
        pending.append(flush_key(flush_id))
    except redis.ResponseError:
        pass  # No beacons since the last flush.
    applied = 0
    for key in pending:
        raw = client.hgetall(key)
        applied += _batch_apply(key.removeprefix(prefix), raw)
        client.delete(key)
    return applied


def pending_total() -> int:
    """Return how many beacons wait in Redis for the next flush."""
    if not uses_redis():
        return 0
    client = redis_client()
    keys: Iterable[bytes | str] = [current_key(), *client.scan_iter(match=flush_key("") + "*")]
    return sum(int(v) for key in keys for v in client.hvals(key))
