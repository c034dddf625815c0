"""The payments' and new supporters' rollups: the SQL their triggers run (see rollups.py).

Each trigger appends what its statement changed: the payments' sums by day and attribute (new
rows counted +1, old rows -1), and, for the supporters whose contributions it touched, their
first paid contribution before and after it.
"""

from __future__ import annotations

from finance.rollup_recurring import SUPPORTER_LOCK_BUCKETS, SUPPORTER_LOCK_CLASS

PAYMENT_COLUMNS = (
    "contribution_id, status, paid_at, currency, settlement_currency, kind, "
    "payment_method_type, gross_minor, fee_minor, net_minor"
)
CONTRIBUTION_COLUMNS = (
    "id, supporter_id, first_paid_at, currency, frequency, campaign_id, variant_key"
)
# A transition table a statement does not have (an INSERT has no old rows): no rows.
# (All SQL here is built from this module's own constants; values are never interpolated.)
NO_PAYMENTS = f"(SELECT {PAYMENT_COLUMNS} FROM payments_payment WHERE false)"  # noqa: S608
NO_CONTRIBUTIONS = f"(SELECT {CONTRIBUTION_COLUMNS} FROM payments_contribution WHERE false)"  # noqa: S608

# The payments' change, grouped by day and attribute: `{moved}` yields (sign, payment columns).
PAYMENT_TOTALS_SELECT = """
SELECT (p.paid_at AT TIME ZONE finance_rollup_time_zone())::date, p.currency,
       p.settlement_currency, p.kind, p.payment_method_type, coalesce(c.frequency, ''),
       c.campaign_id, coalesce(c.variant_key, ''), sum(p.sign),
       sum(p.sign * p.gross_minor), sum(p.sign * coalesce(p.fee_minor, 0)),
       sum(p.sign * coalesce(p.net_minor, 0))
FROM ({moved}) p
LEFT JOIN payments_contribution c ON c.id = p.contribution_id
WHERE p.status = 'succeeded' AND p.paid_at IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
HAVING sum(p.sign) <> 0 OR sum(p.sign * p.gross_minor) <> 0
    OR sum(p.sign * coalesce(p.fee_minor, 0)) <> 0 OR sum(p.sign * coalesce(p.net_minor, 0)) <> 0
"""
PAYMENT_TOTALS_INTO = """
INSERT INTO finance_paymentdaytotal (day, currency, settlement_currency, kind,
    payment_method_type, frequency, campaign_id, variant_key, payments, gross_minor, fee_minor,
    net_minor)
"""
PAYMENT_TOTALS_ADD = PAYMENT_TOTALS_INTO + PAYMENT_TOTALS_SELECT


def payments_moved(new: str, old: str) -> str:
    return (
        f"SELECT 1 AS sign, {PAYMENT_COLUMNS} FROM {new} n "  # noqa: S608
        f"UNION ALL SELECT -1, {PAYMENT_COLUMNS} FROM {old} o"
    )


# A contribution whose attributes changed (a campaign removed, say) moves its payments'
# sums from the old attributes to the new ones.
PAYMENTS_REKEY = """
INSERT INTO finance_paymentdaytotal (day, currency, settlement_currency, kind,
    payment_method_type, frequency, campaign_id, variant_key, payments, gross_minor, fee_minor,
    net_minor)
SELECT (p.paid_at AT TIME ZONE finance_rollup_time_zone())::date, p.currency,
       p.settlement_currency, p.kind, p.payment_method_type, m.frequency, m.campaign_id,
       m.variant_key, sum(m.sign), sum(m.sign * p.gross_minor),
       sum(m.sign * coalesce(p.fee_minor, 0)), sum(m.sign * coalesce(p.net_minor, 0))
FROM (
    SELECT 1 AS sign, n.id, n.frequency, n.campaign_id, n.variant_key
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE (n.frequency, n.campaign_id, n.variant_key)
          IS DISTINCT FROM (o.frequency, o.campaign_id, o.variant_key)
    UNION ALL
    SELECT -1, o.id, o.frequency, o.campaign_id, o.variant_key
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE (n.frequency, n.campaign_id, n.variant_key)
          IS DISTINCT FROM (o.frequency, o.campaign_id, o.variant_key)
) m
JOIN payments_payment p ON p.contribution_id = m.id
WHERE p.status = 'succeeded' AND p.paid_at IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
HAVING sum(m.sign) <> 0
"""

# A supporter's first paid contribution (ties on the instant to the lower id) makes them a new
# supporter on its day, with its attributes. For the supporters a statement touched, the firsts
# before it (the table less the statement's new rows, plus its old rows) count -1 and the firsts
# after it +1.
NEW_SUPPORTERS_ADD = """
WITH touched AS (
    SELECT supporter_id FROM {new} n WHERE first_paid_at IS NOT NULL
    UNION SELECT supporter_id FROM {old} o WHERE first_paid_at IS NOT NULL
),
before AS (
    SELECT DISTINCT ON (supporter_id) * FROM (
        SELECT {columns} FROM payments_contribution
        WHERE supporter_id IN (SELECT supporter_id FROM touched)
          AND NOT EXISTS (SELECT FROM {new} n WHERE n.id = payments_contribution.id)
        UNION ALL
        SELECT {columns} FROM {old} o WHERE supporter_id IN (SELECT supporter_id FROM touched)
    ) was
    WHERE first_paid_at IS NOT NULL
    ORDER BY supporter_id, first_paid_at, id
),
after AS (
    SELECT DISTINCT ON (supporter_id) {columns} FROM payments_contribution
    WHERE supporter_id IN (SELECT supporter_id FROM touched) AND first_paid_at IS NOT NULL
    ORDER BY supporter_id, first_paid_at, id
)
INSERT INTO finance_newsupporterday (day, currency, frequency, campaign_id, variant_key,
    supporters)
SELECT (first_paid_at AT TIME ZONE finance_rollup_time_zone())::date, currency, frequency,
       campaign_id, variant_key, sum(sign)
FROM (SELECT 1 AS sign, * FROM after UNION ALL SELECT -1, * FROM before) firsts
GROUP BY 1, 2, 3, 4, 5
HAVING sum(sign) <> 0
"""

# Only the contributions whose first payment, supporter or attributes changed matter.
CHANGED_CONTRIBUTIONS = """(
    SELECT {columns} FROM {side} WHERE id IN (
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.supporter_id, n.first_paid_at, n.currency, n.frequency, n.campaign_id,
               n.variant_key)
              IS DISTINCT FROM (o.supporter_id, o.first_paid_at, o.currency, o.frequency,
                                o.campaign_id, o.variant_key)
    )
)"""


def contribution_side(side: str) -> str:
    return CHANGED_CONTRIBUTIONS.format(columns=CONTRIBUTION_COLUMNS, side=side)


# Who is a supporter's first depends on all their contributions, so two transactions changing
# two contributions of one supporter at once would each count the change against a state
# without the other's, and the sum would be wrong. Each waits for the other instead: a
# transaction-long lock per supporter (hashed into SUPPORTER_LOCK_BUCKETS, taken in order), then
# each count reads the ledger afresh (PostgreSQL gives each statement of a trigger function its
# own snapshot at read committed).
SUPPORTERS_LOCK = f"""
PERFORM pg_advisory_xact_lock({SUPPORTER_LOCK_CLASS}, bucket) FROM (
    SELECT DISTINCT (supporter_id % {SUPPORTER_LOCK_BUCKETS})::int AS bucket FROM (
        SELECT supporter_id FROM {{new}} n WHERE first_paid_at IS NOT NULL
        UNION SELECT supporter_id FROM {{old}} o WHERE first_paid_at IS NOT NULL
    ) touched
    ORDER BY 1
) buckets
"""  # noqa: S608 - built from this module's constants


def new_supporters_add(new: str, old: str) -> str:
    return (
        SUPPORTERS_LOCK.format(new=new, old=old)
        + ";\n"
        + NEW_SUPPORTERS_ADD.format(new=new, old=old, columns=CONTRIBUTION_COLUMNS)
    )


# A change of a contribution's attributes is rare (a campaign removed, an edit in the admin);
# while it re-keys the payments, no payment is written (its trigger would read the attributes
# of before or after, not knowing which the re-keying counted).
PAYMENTS_REKEY_WHEN_NEEDED = f"""
IF EXISTS (
    SELECT FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE (n.frequency, n.campaign_id, n.variant_key)
          IS DISTINCT FROM (o.frequency, o.campaign_id, o.variant_key)
) THEN
    LOCK TABLE payments_payment IN SHARE ROW EXCLUSIVE MODE;
    {PAYMENTS_REKEY.strip()};
END IF
"""  # noqa: S608 - built from this module's constants


# Every succeeded payment and every supporter's first, counted afresh from the ledger.
FRESH_PAYMENT_TOTALS = PAYMENT_TOTALS_SELECT.format(
    moved=(
        f"SELECT 1 AS sign, {PAYMENT_COLUMNS} FROM payments_payment "  # noqa: S608
        "WHERE status = 'succeeded'"
    )
)
FRESH_NEW_SUPPORTERS = """
SELECT (first_paid_at AT TIME ZONE finance_rollup_time_zone())::date, currency, frequency,
       campaign_id, variant_key, count(*)
FROM (SELECT DISTINCT ON (supporter_id) * FROM payments_contribution
      WHERE first_paid_at IS NOT NULL ORDER BY supporter_id, first_paid_at, id) firsts
GROUP BY 1, 2, 3, 4, 5
"""
