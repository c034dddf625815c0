"""The recurring rollup: MRR and active supporters at any month's end, from changes by day.

A subscription adds its monthly amount on the day it began (its contribution's first payment)
and takes it back on the day it ended; an amount it replaced adds the difference it made over
the days it was in force. So MRR at a month's end is the sum of every change dated before it,
and the changes add up across subscriptions, days and attributes. Active supporters do not add
up (a supporter with two subscriptions at once counts once): per supporter, frequency and
currency, their subscriptions' spans are merged into islands first, and each island adds one
supporter on its first day and takes them back on its last. That is done twice, by campaign
(`campaign` rows: a supporter counts once per campaign) and across campaigns (`all` rows).

Days are in the rollups' time zone. A subscription counts at a month's end E when it began
before E and had not ended before E; E is a midnight, so "before E" is "on a day before E's",
and a change dated on day d counts at every month end after d.

Because islands depend on all of a supporter's subscriptions, each supporter's changes are kept
(`finance_supporterrecurring`): when a write touches a supporter, their changes are computed
afresh from the ledger, and the difference from the kept ones is appended to the rollup
(`finance_recurringday`), under the per-supporter lock the new-supporter count takes too.
"""

from __future__ import annotations

# The changes of the supporters in `ids` (an int[]), computed from the ledger as it stands.
EVENTS_FUNCTION = """
CREATE OR REPLACE FUNCTION finance_recurring_events(ids bigint[])
RETURNS TABLE (supporter_id bigint, day date, part text, currency text, frequency text,
               campaign_id bigint, mrr_minor bigint, supporters bigint)
LANGUAGE sql STABLE AS $$
WITH subs AS (
    SELECT c.supporter_id, s.id, s.currency::text AS currency, c.frequency::text AS frequency,
           c.campaign_id, coalesce(c.first_paid_at, s.created_at) AS began,
           coalesce(s.ended_at, CASE WHEN s.status = 'canceled' THEN s.canceled_at END) AS ended,
           CASE WHEN c.frequency = 'annual' THEN 12 ELSE 1 END AS months, s.amount_minor
    FROM payments_subscription s JOIN payments_contribution c ON c.id = s.contribution_id
    WHERE c.supporter_id = ANY(ids) AND s.status NOT IN ('incomplete', 'incomplete_expired')
),
live AS (
    SELECT *, amount_minor / months AS monthly,
           (began AT TIME ZONE finance_rollup_time_zone())::date AS began_day,
           (ended AT TIME ZONE finance_rollup_time_zone())::date AS ended_day
    FROM subs WHERE ended IS NULL OR began <= ended
),
replaced AS (
    SELECT l.supporter_id, l.currency, l.frequency, l.campaign_id,
           p.amount_minor / l.months - l.monthly AS difference,
           greatest(l.began, p.valid_from) AS since, least(l.ended, p.valid_until) AS until
    FROM live l JOIN payments_subscriptionpastamount p ON p.subscription_id = l.id
),
spans AS (
    -- Each subscription's span of month-end days, (a, b], twice: by campaign and across them.
    SELECT l.supporter_id, l.currency, l.frequency, parts.part,
           CASE WHEN parts.part = 'campaign' THEN l.campaign_id END AS campaign_id,
           l.began_day AS a, coalesce(l.ended_day, 'infinity'::date) AS b
    FROM live l CROSS JOIN (VALUES ('campaign'), ('all')) AS parts (part)
    WHERE l.ended_day IS NULL OR l.began_day < l.ended_day
),
reaching AS (
    SELECT *, max(b) OVER (
        PARTITION BY supporter_id, currency, frequency, part, campaign_id
        ORDER BY a, b ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
    ) AS reach
    FROM spans
),
numbered AS (
    -- A span that starts after every earlier one ended starts a new island.
    SELECT *, count(*) FILTER (WHERE reach IS NULL OR a > reach) OVER (
        PARTITION BY supporter_id, currency, frequency, part, campaign_id
        ORDER BY a, b ROWS UNBOUNDED PRECEDING
    ) AS island
    FROM reaching
),
islands AS (
    SELECT supporter_id, currency, frequency, part, campaign_id, min(a) AS a, max(b) AS b
    FROM numbered GROUP BY supporter_id, currency, frequency, part, campaign_id, island
),
changes AS (
    SELECT supporter_id, began_day AS day, 'mrr' AS part, currency, frequency, campaign_id,
           monthly::bigint AS mrr_minor, 0::bigint AS supporters
    FROM live
    UNION ALL
    SELECT supporter_id, ended_day, 'mrr', currency, frequency, campaign_id, -monthly, 0
    FROM live WHERE ended IS NOT NULL
    UNION ALL
    SELECT supporter_id, (since AT TIME ZONE finance_rollup_time_zone())::date, 'mrr', currency,
           frequency, campaign_id, difference, 0
    FROM replaced WHERE since <= until
    UNION ALL
    SELECT supporter_id, (until AT TIME ZONE finance_rollup_time_zone())::date, 'mrr', currency,
           frequency, campaign_id, -difference, 0
    FROM replaced WHERE since <= until
    UNION ALL
    SELECT supporter_id, a, part, currency, frequency, campaign_id, 0, 1 FROM islands
    UNION ALL
    SELECT supporter_id, b, part, currency, frequency, campaign_id, 0, -1 FROM islands
    WHERE b < 'infinity'::date
)
SELECT supporter_id, day, part, currency, frequency, campaign_id, sum(mrr_minor)::bigint,
       sum(supporters)::bigint
FROM changes
GROUP BY 1, 2, 3, 4, 5, 6
HAVING sum(mrr_minor) <> 0 OR sum(supporters) <> 0
$$;
"""

# One lock per supporter (hashed into buckets, taken in order) for the counts that do not add
# up across a supporter's rows (their first contribution, their islands): see rollups.py.
SUPPORTER_LOCK_CLASS = 58_241  # this lock's namespace among the database's advisory locks
SUPPORTER_LOCK_BUCKETS = 256

# Counts the supporters in `ids` afresh, appends the difference from what was kept for them,
# and keeps the new count. After the lock, each statement reads the ledger as committed then.
REFRESH_FUNCTION = f"""
CREATE OR REPLACE FUNCTION finance_recurring_refresh(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $body$
BEGIN
IF coalesce(cardinality(ids), 0) = 0 THEN
    RETURN;
END IF;
PERFORM pg_advisory_xact_lock({SUPPORTER_LOCK_CLASS}, bucket) FROM (
    SELECT DISTINCT (x % {SUPPORTER_LOCK_BUCKETS})::int AS bucket FROM unnest(ids) x ORDER BY 1
) buckets;
WITH fresh AS (
    SELECT * FROM finance_recurring_events(ids)
),
gone AS (
    DELETE FROM finance_supporterrecurring WHERE supporter_id = ANY(ids)
    RETURNING supporter_id, day, part, currency, frequency, campaign_id, mrr_minor,
              supporters::bigint
),
kept AS (
    INSERT INTO finance_supporterrecurring (supporter_id, day, part, currency, frequency,
        campaign_id, mrr_minor, supporters)
    SELECT * FROM fresh
)
INSERT INTO finance_recurringday (day, part, currency, frequency, campaign_id, mrr_minor,
    supporters)
SELECT day, part, currency, frequency, campaign_id, sum(sign * mrr_minor),
       sum(sign * supporters)
FROM (SELECT 1 AS sign, * FROM fresh UNION ALL SELECT -1, * FROM gone) changed
GROUP BY 1, 2, 3, 4, 5
HAVING sum(sign * mrr_minor) <> 0 OR sum(sign * supporters) <> 0;
END;
$body$;
"""  # noqa: S608 - this module's constants

SUBSCRIPTION_CHANGED = """
(n.contribution_id, n.status, n.amount_minor, n.currency, n.created_at, n.ended_at,
 n.canceled_at)
IS DISTINCT FROM (o.contribution_id, o.status, o.amount_minor, o.currency, o.created_at,
                  o.ended_at, o.canceled_at)
"""


def _refresh(supporters: str) -> str:
    return f"PERFORM finance_recurring_refresh(ARRAY({supporters.strip()}))"


# The supporters each statement touched, by table and event.
SUBSCRIPTIONS_INSERTED = _refresh(
    """SELECT DISTINCT c.supporter_id FROM new_rows n
       JOIN payments_contribution c ON c.id = n.contribution_id"""
)
SUBSCRIPTIONS_UPDATED = _refresh(
    f"""SELECT DISTINCT c.supporter_id FROM new_rows n JOIN old_rows o ON o.id = n.id
        JOIN payments_contribution c ON c.id IN (n.contribution_id, o.contribution_id)
        WHERE {SUBSCRIPTION_CHANGED}"""  # noqa: S608 - this module's constants
)
SUBSCRIPTIONS_DELETED = _refresh(
    """SELECT DISTINCT c.supporter_id FROM old_rows o
       JOIN payments_contribution c ON c.id = o.contribution_id"""
)


def past_amounts_touched(sides: str) -> str:
    return _refresh(
        f"""SELECT DISTINCT c.supporter_id FROM ({sides}) p
            JOIN payments_subscription s ON s.id = p.subscription_id
            JOIN payments_contribution c ON c.id = s.contribution_id"""  # noqa: S608
    )


PAST_AMOUNTS_INSERTED = past_amounts_touched("SELECT subscription_id FROM new_rows")
PAST_AMOUNTS_UPDATED = past_amounts_touched(
    "SELECT subscription_id FROM new_rows UNION SELECT subscription_id FROM old_rows"
)
PAST_AMOUNTS_DELETED = past_amounts_touched("SELECT subscription_id FROM old_rows")
# A contribution's first payment, frequency, campaign or supporter changing moves its
# subscription's span or attributes.
CONTRIBUTIONS_UPDATED = _refresh(
    """SELECT DISTINCT touched.supporter_id
       FROM new_rows n JOIN old_rows o ON o.id = n.id
       CROSS JOIN LATERAL (VALUES (n.supporter_id), (o.supporter_id)) touched (supporter_id)
       WHERE (n.supporter_id, n.first_paid_at, n.frequency, n.campaign_id)
             IS DISTINCT FROM (o.supporter_id, o.first_paid_at, o.frequency, o.campaign_id)
         AND EXISTS (SELECT FROM payments_subscription s WHERE s.contribution_id = n.id)"""
)

ALL_SUBSCRIBERS = """ARRAY(
    SELECT DISTINCT c.supporter_id FROM payments_subscription s
    JOIN payments_contribution c ON c.id = s.contribution_id
)"""
RECOUNT_SQL = [
    "DELETE FROM finance_supporterrecurring",
    f"""INSERT INTO finance_supporterrecurring (supporter_id, day, part, currency, frequency,
            campaign_id, mrr_minor, supporters)
        SELECT * FROM finance_recurring_events({ALL_SUBSCRIBERS})""",  # noqa: S608
    "DELETE FROM finance_recurringday",
    """INSERT INTO finance_recurringday (day, part, currency, frequency, campaign_id, mrr_minor,
           supporters)
       SELECT day, part, currency, frequency, campaign_id, sum(mrr_minor), sum(supporters)
       FROM finance_supporterrecurring GROUP BY 1, 2, 3, 4, 5
       HAVING sum(mrr_minor) <> 0 OR sum(supporters) <> 0""",
]
# What the rollup and each supporter's kept share must equal.
FRESH_SUPPORTER_SHARES = f"SELECT * FROM finance_recurring_events({ALL_SUBSCRIBERS})"  # noqa: S608
FRESH_RECURRING = f"""
SELECT day, part, currency, frequency, campaign_id, sum(mrr_minor), sum(supporters)
FROM finance_recurring_events({ALL_SUBSCRIBERS})
GROUP BY 1, 2, 3, 4, 5
HAVING sum(mrr_minor) <> 0 OR sum(supporters) <> 0
"""  # noqa: S608
KEPT_SHARES = """
SELECT supporter_id, day, part, currency, frequency, campaign_id, mrr_minor,
       supporters::bigint
FROM finance_supporterrecurring
"""
