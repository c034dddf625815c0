"""The dashboard's daily rollups (PostgreSQL): how they are installed, recounted, compacted
and checked.

`finance_paymentdaytotal` adds up succeeded payments per day and attribute,
`finance_newsupporterday` counts supporters per day of their first paid contribution, and
`finance_recurringday` holds the changes of MRR and active supporters by day. None is written
by the application: statement triggers on payments, contributions, subscriptions and the amounts
subscriptions replaced append the change each ledger statement made, in that statement's
transaction (rollup_payments.py, rollup_recurring.py). So every write path — the webhook
handlers, the services, the admin, the Stripe backfill, a bulk update, a data migration — keeps
them exact, and a failed transaction takes its change with it. Appending (never updating a
shared row) means webhook workers recording payments of the same day never wait on each other's
row lock; `rollups_compact` folds the appended changes into one row per day and attribute, as a
periodic task. `rollups_drift` compares them with the ledger counted afresh.

Days are calendar days in the time zone the triggers were installed with (`rollups_install`);
the dashboard reads the rollups only while that is the configured one (`rollups_time_zone`),
and `manage.py rollups_rebuild` re-installs and recounts after it changes.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection, transaction

from finance import rollup_recurring as recurring
from finance.rollup_payments import (
    FRESH_NEW_SUPPORTERS,
    FRESH_PAYMENT_TOTALS,
    NO_CONTRIBUTIONS,
    NO_PAYMENTS,
    PAYMENT_TOTALS_ADD,
    PAYMENT_TOTALS_INTO,
    PAYMENTS_REKEY_WHEN_NEEDED,
    contribution_side,
    new_supporters_add,
    payments_moved,
)


def _function(name: str, *statements: str) -> str:
    body = ";\n".join(statement.strip() for statement in statements)
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
{body};
RETURN NULL;
END;
$body$;
"""


def _trigger(name: str, table: str, event: str, transitions: str, function: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {name} ON {table};
CREATE TRIGGER {name} AFTER {event} ON {table}
    REFERENCING {transitions} FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""


def install_sql(time_zone: str) -> str:
    """Return the SQL that (re)creates the rollup triggers for days in `time_zone`."""
    quoted = "'" + time_zone.replace("'", "''") + "'"
    changed_new, changed_old = contribution_side("new_rows"), contribution_side("old_rows")
    return "\n".join(
        [
            f"""CREATE OR REPLACE FUNCTION finance_rollup_time_zone() RETURNS text
                LANGUAGE sql IMMUTABLE AS $$ SELECT {quoted}::text $$;""",
            _function(
                "finance_rollup_payments_inserted",
                PAYMENT_TOTALS_ADD.format(moved=payments_moved("new_rows", NO_PAYMENTS)),
            ),
            _function(
                "finance_rollup_payments_updated",
                PAYMENT_TOTALS_ADD.format(moved=payments_moved("new_rows", "old_rows")),
            ),
            _function(
                "finance_rollup_payments_deleted",
                PAYMENT_TOTALS_ADD.format(moved=payments_moved(NO_PAYMENTS, "old_rows")),
            ),
            _function(
                "finance_rollup_contributions_inserted",
                new_supporters_add("new_rows", NO_CONTRIBUTIONS),
            ),
            _function(
                "finance_rollup_contributions_updated",
                PAYMENTS_REKEY_WHEN_NEEDED,
                new_supporters_add(changed_new, changed_old),
                recurring.CONTRIBUTIONS_UPDATED,
            ),
            _function(
                "finance_rollup_contributions_deleted",
                new_supporters_add(NO_CONTRIBUTIONS, "old_rows"),
            ),
            recurring.EVENTS_FUNCTION,
            recurring.REFRESH_FUNCTION,
            _function("finance_rollup_subscriptions_inserted", recurring.SUBSCRIPTIONS_INSERTED),
            _function("finance_rollup_subscriptions_updated", recurring.SUBSCRIPTIONS_UPDATED),
            _function("finance_rollup_subscriptions_deleted", recurring.SUBSCRIPTIONS_DELETED),
            _function("finance_rollup_pastamounts_inserted", recurring.PAST_AMOUNTS_INSERTED),
            _function("finance_rollup_pastamounts_updated", recurring.PAST_AMOUNTS_UPDATED),
            _function("finance_rollup_pastamounts_deleted", recurring.PAST_AMOUNTS_DELETED),
            *(
                _trigger(
                    f"finance_rollup_{name}_{event.lower()}",
                    table,
                    event,
                    transitions,
                    f"finance_rollup_{name}_{done}",
                )
                for name, table in TRIGGERED_TABLES.items()
                for event, transitions, done in (
                    ("INSERT", "NEW TABLE AS new_rows", "inserted"),
                    ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "updated"),
                    ("DELETE", "OLD TABLE AS old_rows", "deleted"),
                )
            ),
        ]
    )


# The ledger tables whose writes the rollups follow, by the name their triggers carry.
TRIGGERED_TABLES = {
    "payments": "payments_payment",
    "contributions": "payments_contribution",
    "subscriptions": "payments_subscription",
    "pastamounts": "payments_subscriptionpastamount",
}
UNINSTALL_SQL = "\n".join(
    [
        *(
            f"DROP TRIGGER IF EXISTS finance_rollup_{name}_{event} ON {table};"
            for name, table in TRIGGERED_TABLES.items()
            for event in ("insert", "update", "delete")
        ),
        *(
            f"DROP FUNCTION IF EXISTS finance_rollup_{name}_{done}();"
            for name in TRIGGERED_TABLES
            for done in ("inserted", "updated", "deleted")
        ),
        "DROP FUNCTION IF EXISTS finance_recurring_refresh(bigint[]);",
        "DROP FUNCTION IF EXISTS finance_recurring_events(bigint[]);",
        "DROP FUNCTION IF EXISTS finance_rollup_time_zone();",
    ]
)

RECOUNT_SQL = [
    "DELETE FROM finance_paymentdaytotal",
    PAYMENT_TOTALS_INTO + FRESH_PAYMENT_TOTALS,
    "DELETE FROM finance_newsupporterday",
    """INSERT INTO finance_newsupporterday (day, currency, frequency, campaign_id, variant_key,
           supporters)"""
    + FRESH_NEW_SUPPORTERS,
    *recurring.RECOUNT_SQL,
]

# Folds the changes appended to a rollup into one row per day and attribute. Rows another
# transaction appends meanwhile are not seen and stay for the next time; two compactions at once
# each fold only the rows they deleted.
COMPACT_SQL = """
WITH folded AS (
    DELETE FROM {table} WHERE id IN (
        SELECT unnest(array_agg(id)) FROM {table} GROUP BY {keys} HAVING count(*) > 1
    )
    RETURNING *
)
INSERT INTO {table} ({keys}, {sums})
SELECT {keys}, {summed} FROM folded GROUP BY {keys}
HAVING {nonzero}
"""
ROLLUPS = {
    "finance_paymentdaytotal": (
        "day, currency, settlement_currency, kind, payment_method_type, frequency, campaign_id, "
        "variant_key",
        ("payments", "gross_minor", "fee_minor", "net_minor"),
    ),
    "finance_newsupporterday": (
        "day, currency, frequency, campaign_id, variant_key",
        ("supporters",),
    ),
    "finance_recurringday": (
        "day, part, currency, frequency, campaign_id",
        ("mrr_minor", "supporters"),
    ),
}


def rollups_available() -> bool:
    """Whether this database keeps the rollups at all (PostgreSQL)."""
    return connection.vendor == "postgresql"


def rollups_install(*, cursor: Any, time_zone: str) -> None:
    """(Re)create the triggers for days in `time_zone` (the caller recounts after a change)."""
    cursor.execute(install_sql(time_zone))


def rollups_uninstall(*, cursor: Any) -> None:
    cursor.execute(UNINSTALL_SQL)


def rollups_recount(*, cursor: Any) -> None:
    """Count the rollups afresh from the ledger, inside the caller's transaction: the ledger
    tables are locked against writes until it ends, so none lands between the count and the
    triggers' next change."""
    tables = ", ".join(TRIGGERED_TABLES.values())
    cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
    for statement in RECOUNT_SQL:
        cursor.execute(statement)


def rollups_rebuild(*, time_zone: str | None = None) -> None:
    """Install the triggers for `time_zone` (default: the configured one) and recount, in one
    transaction that makes ledger writes wait meanwhile (they queue; nothing is lost)."""
    if not rollups_available():
        return
    with transaction.atomic(), connection.cursor() as cursor:
        rollups_install(cursor=cursor, time_zone=time_zone or settings.PUBLISHER_TIME_ZONE)
        rollups_recount(cursor=cursor)


def rollups_compact() -> int:
    """Fold the rollups' appended changes into one row per day and attribute; return how many
    rows were folded away."""
    if not rollups_available():
        return 0
    folded = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for table, (keys, sums) in ROLLUPS.items():
            before = _row_count(cursor, table)
            cursor.execute(
                COMPACT_SQL.format(
                    table=table,
                    keys=keys,
                    sums=", ".join(sums),
                    summed=", ".join(f"sum({column})" for column in sums),
                    nonzero=" OR ".join(f"sum({column}) <> 0" for column in sums),
                )
            )
            folded += before - _row_count(cursor, table)
    return folded


def _row_count(cursor: Any, table: str) -> int:
    cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our own table names
    return int(cursor.fetchone()[0])


def rollups_time_zone() -> str | None:
    """Return the time zone the rollups' days are in, or None where they are not kept."""
    if not rollups_available():
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prosrc FROM pg_proc WHERE proname = 'finance_rollup_time_zone' LIMIT 1"
        )
        row = cursor.fetchone()
    if row is None:
        return None
    source = row[0].strip()
    prefix, suffix = "SELECT '", "'::text"
    if not (source.startswith(prefix) and source.endswith(suffix)):
        return None
    return source[len(prefix) : -len(suffix)].replace("''", "'")


def _summed(table: str) -> str:
    keys, sums = ROLLUPS[table]
    summed = ", ".join(f"sum({column})" for column in sums)
    nonzero = " OR ".join(f"sum({column}) <> 0" for column in sums)
    return f"SELECT {keys}, {summed} FROM {table} GROUP BY {keys} HAVING {nonzero}"  # noqa: S608


def rollups_drift() -> list[tuple[str, str, tuple[Any, ...]]]:
    """Return where the rollups differ from the ledger counted afresh: (rollup, "ledger" or
    "rollup" for the side that has the row, the row). Empty when they agree, as they must."""
    if not rollups_available():
        return []
    differences: list[tuple[str, str, tuple[Any, ...]]] = []
    with connection.cursor() as cursor:
        for table, fresh, kept in (
            ("finance_paymentdaytotal", FRESH_PAYMENT_TOTALS, _summed("finance_paymentdaytotal")),
            ("finance_newsupporterday", FRESH_NEW_SUPPORTERS, _summed("finance_newsupporterday")),
            ("finance_recurringday", recurring.FRESH_RECURRING, _summed("finance_recurringday")),
            (
                "finance_supporterrecurring",
                recurring.FRESH_SUPPORTER_SHARES,
                recurring.KEPT_SHARES,
            ),
        ):
            for side, first, second in (("ledger", fresh, kept), ("rollup", kept, fresh)):
                cursor.execute(f"({first}) EXCEPT ALL ({second})")
                differences += [(table, side, tuple(row)) for row in cursor.fetchall()]
    return differences
