"""The monthly summary's payment sums and new supporters, read from the daily rollups.

Each gives the rows the raw queries in finance/selectors.py give (same keys, same sums), from a
few thousand rows a year instead of every payment: see finance/rollups.py for how the rollups
are kept. They answer a closed period by payment date in the time zone they were counted in;
`rollups_cover` says when, and the raw queries answer otherwise.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection

from campaigns.models import Frequency
from finance.filters import DateBasis, ReportFilters
from finance.rollups import rollups_time_zone


def rollups_current() -> bool:
    """Whether the rollups are kept here, with days in the configured time zone."""
    return rollups_time_zone() == settings.PUBLISHER_TIME_ZONE


def rollups_cover(filters: ReportFilters, *, current: bool) -> bool:
    """Whether the rollups can answer for `filters`: a closed period by payment date, with the
    rollups `current` (see rollups_current)."""
    return (
        current
        and filters.date_basis == DateBasis.PAYMENT
        and filters.since is not None
        and filters.until is not None
    )


def _day_and_attribution(filters: ReportFilters) -> tuple[list[str], list[Any]]:
    """Return the conditions on a day's rollup row `t` (its campaign joined as `k`): the period,
    then the frequency, campaign and variant."""
    where: list[str] = ["t.day BETWEEN %s AND %s"]
    params: list[Any] = [filters.since, filters.until]
    for column, value in (
        ("t.frequency", filters.frequency),
        ("k.slug", filters.campaign),
        ("t.variant_key", filters.variant),
    ):
        if value:
            where.append(f"{column} = %s")
            params.append(value)
    return where, params


def payment_sums_from_rollups(
    filters: ReportFilters, *, by_campaign: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the charge side's and the settlement side's rows, as `_payment_sums` gives them
    with CHARGE_SUMS and SETTLEMENT_SUMS: keys m (the month), c (the currency), k (the campaign's
    slug, "" for none, when `by_campaign`)."""
    where, params = _day_and_attribution(filters)
    if filters.payment_method:
        where.append("t.payment_method_type = %s")
        params.append(filters.payment_method)
    if filters.currency:
        # Each side filters on its own currency; either may bring the row.
        where.append("(t.currency = %s OR t.settlement_currency = %s)")
        params += [filters.currency, filters.currency]
    sql = f"""
        SELECT date_trunc('month', t.day)::date, t.currency, t.settlement_currency,
               {"coalesce(k.slug, '')" if by_campaign else "''"}, t.kind = 'one_off',
               sum(t.payments)::bigint, sum(t.gross_minor)::bigint,
               sum(t.fee_minor)::bigint, sum(t.net_minor)::bigint
        FROM finance_paymentdaytotal t LEFT JOIN campaigns_campaign k ON k.id = t.campaign_id
        WHERE {" AND ".join(where)}
        GROUP BY 1, 2, 3, 4, 5
    """  # noqa: S608 - the conditions are ours, the values parameters
    charge: dict[tuple[dt.date, str, str], dict[str, Any]] = {}
    settled: dict[tuple[dt.date, str, str], dict[str, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for month, currency, settlement, campaign, one_off, count, gross, fee, net in cursor:
            if not count:  # every payment of the group was taken back
                continue
            if not filters.currency or currency == filters.currency:
                row = charge.setdefault(
                    (month, currency, campaign),
                    {"m": month, "c": currency, "k": campaign, "gross": 0, "payments": 0}
                    | {"one_off_payments": 0, "one_off_gross": 0},
                )
                row["gross"] += gross
                row["payments"] += count
                if one_off:
                    row["one_off_payments"] += count
                    row["one_off_gross"] += gross
            if settlement and (not filters.currency or settlement == filters.currency):
                row = settled.setdefault(
                    (month, settlement, campaign),
                    {"m": month, "c": settlement, "k": campaign, "fees": 0, "net": 0},
                )
                row["fees"] += fee
                row["net"] += net
    return list(charge.values()), list(settled.values())


def new_supporters_from_rollups(
    filters: ReportFilters, *, by_campaign: bool
) -> list[dict[str, Any]]:
    """Return the new supporters by month, currency (and campaign), as `_new_supporters` does."""
    where, params = _day_and_attribution(filters)
    if filters.currency:
        where.append("t.currency = %s")
        params.append(filters.currency)
    sql = f"""
        SELECT date_trunc('month', t.day)::date, t.currency,
               {"coalesce(k.slug, '')" if by_campaign else "''"}, sum(t.supporters)::bigint
        FROM finance_newsupporterday t LEFT JOIN campaigns_campaign k ON k.id = t.campaign_id
        WHERE {" AND ".join(where)}
        GROUP BY 1, 2, 3
        HAVING sum(t.supporters) <> 0
    """  # noqa: S608 - the conditions are ours, the values parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [{"m": m, "c": c, "k": k, "n": n} for m, c, k, n in cursor.fetchall()]


def recurring_rollups_cover(filters: ReportFilters, *, current: bool) -> bool:
    """Whether the recurring rollup can give active supporters and MRR for `filters`: a closed
    period (by either date: these are calendar months), no currency or variant filter (a
    supporter's islands are not kept per variant, nor per contribution currency)."""
    return (
        current
        and filters.since is not None
        and filters.until is not None
        and not filters.currency
        and not filters.variant
    )


def recurring_from_rollups(
    filters: ReportFilters, *, by_campaign: bool, month_end_days: list[dt.date]
) -> dict[tuple[str, str, int], tuple[int, int, int]]:
    """Return (active monthly supporters, active annual supporters, MRR) at each month's end
    (`month_end_days`: the day each month's end starts, ascending), keyed by currency, campaign
    ("" unless `by_campaign`) and the month's number, as `_active_by_intervals` does.

    A change dated on day d counts at every month end after d: grouped by how many month ends
    are on or before d (width_bucket), each month adds up the groups up to its own number.
    """
    per_campaign = by_campaign or bool(filters.campaign)
    where = ["t.day < %s", "t.part IN ('mrr', %s)"]
    params: list[Any] = [month_end_days[-1], "campaign" if per_campaign else "all"]
    if filters.frequency:
        where.append("t.frequency = %s")
        params.append(filters.frequency)
    if filters.campaign:
        where.append("k.slug = %s")
        params.append(filters.campaign)
    sql = f"""
        SELECT t.part, t.currency, t.frequency,
               {"coalesce(k.slug, '')" if by_campaign else "''"},
               width_bucket(t.day, %s::date[]), sum(t.mrr_minor)::bigint,
               sum(t.supporters)::bigint
        FROM finance_recurringday t LEFT JOIN campaigns_campaign k ON k.id = t.campaign_id
        WHERE {" AND ".join(where)}
        GROUP BY 1, 2, 3, 4, 5
    """  # noqa: S608 - the conditions are ours, the values parameters
    months = len(month_end_days)
    changes: dict[tuple[str, str, str], list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [month_end_days, *params])
        for part, currency, frequency, campaign, first, mrr, supporters in cursor.fetchall():
            # MRR by currency and campaign; supporters by frequency too.
            key = (currency, campaign, "" if part == "mrr" else frequency)
            column = changes.setdefault(key, [0] * (months + 1))
            column[first] += mrr if part == "mrr" else supporters
    totals: dict[tuple[str, str, int], list[int]] = {}
    for (currency, campaign, frequency), column in changes.items():
        if frequency not in ("", Frequency.MONTHLY, Frequency.ANNUAL):
            continue
        running = 0
        for i in range(months):
            running += column[i]
            if not running:
                continue
            counts = totals.setdefault((currency, campaign, i), [0, 0, 0])
            counts[{"": 2, Frequency.MONTHLY: 0, Frequency.ANNUAL: 1}[frequency]] = running
    return {key: (monthly, annual, mrr) for key, (monthly, annual, mrr) in totals.items()}
