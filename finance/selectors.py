"""Reads for finance: the per-payment rows and the monthly summary, aggregated in SQL.

Months are calendar months in the publisher's time zone. Money is in minor units of the row's
currency (summaries are never added across currencies). Two sides, as Stripe keeps them: gross
and counts are the charge's (its currency), while fees, net, refunds, lost disputes and dispute
fees are what moved the balance (its settlement currency), so a summary row's settlement columns
only ever add settlement money. An account that settles in the charges' currency sees one row.
Refunds count in the month they were made, lost disputes in the month they were lost, dispute
fees in the month the dispute opened, whatever the month of the payment they belong to. By
payout date each counts with the payout that carried it (a dispute's withdrawal and its
reinstatement each with its own).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any, cast

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth

from campaigns.models import Frequency
from finance.filters import DateBasis, ReportFilters, publisher_tz
from finance.rollup_reads import (
    new_supporters_from_rollups,
    payment_sums_from_rollups,
    recurring_from_rollups,
    recurring_rollups_cover,
    rollups_cover,
    rollups_current,
)
from payments.models import (
    Contribution,
    Dispute,
    DisputeMovement,
    Payment,
    Payout,
    Refund,
    Subscription,
    SubscriptionPastAmount,
)

# Refund states that moved no money (Stripe's names).
REFUND_NOT_MOVED = ("failed", "canceled")


def _payout_ids_arriving(filters: ReportFilters) -> QuerySet[Payout, Any]:
    payouts = Payout.objects.all()
    if filters.since:
        payouts = payouts.filter(arrival_date__gte=filters.since)
    if filters.until:
        payouts = payouts.filter(arrival_date__lte=filters.until)
    return payouts.values("stripe_payout_id")


def _attribution_scope(filters: ReportFilters, contribution: str) -> Q:
    """Return the frequency, campaign and variant filters on the contribution at `contribution`."""
    q = Q()
    if filters.frequency:
        q &= Q(**{f"{contribution}frequency": filters.frequency})
    if filters.campaign:
        q &= Q(**{f"{contribution}campaign__slug": filters.campaign})
    if filters.variant:
        q &= Q(**{f"{contribution}variant_key": filters.variant})
    return q


def _scope(filters: ReportFilters, prefix: str, currency: str | None = None) -> Q:
    """Return the attribute filters for rows reaching the payment through `prefix`; the currency
    filter applies to `currency` (default: the payment's charge currency)."""
    q = _attribution_scope(filters, f"{prefix}contribution__")
    if filters.currency:
        q &= Q(**{currency or f"{prefix}currency": filters.currency})
    if filters.payment_method:
        q &= Q(**{f"{prefix}payment_method_type": filters.payment_method})
    return q


def _period(filters: ReportFilters, field: str) -> Q:
    """Return the period filter on a datetime field, or on the payout arrival date."""
    if filters.since is None and filters.until is None:
        return Q()
    if filters.date_basis == DateBasis.PAYOUT:
        return Q(stripe_payout_id__in=_payout_ids_arriving(filters))
    q = Q()
    if start := filters.start():
        q &= Q(**{f"{field}__gte": start})
    if end := filters.end():
        q &= Q(**{f"{field}__lt": end})
    return q


def _payout_arrival() -> Subquery:
    return Subquery(
        Payout.objects.filter(stripe_payout_id=OuterRef("stripe_payout_id")).values("arrival_date")[
            :1
        ],
        output_field=DateField(),
    )


# --- Per-payment rows ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Column:
    header: str
    field: str
    # "text" (neutralised), "code" (our own choices: written as they are), "money", "datetime",
    # "date", "month", "int"
    type: str


PAYMENT_COLUMNS = (
    Column("payment id", "id", "int"),
    Column("paid at", "paid_at", "datetime"),
    Column("created at", "created_at", "datetime"),
    Column("status", "status", "code"),
    Column("kind", "kind", "code"),
    Column("frequency", "contribution__frequency", "code"),
    Column("currency", "currency", "code"),
    Column("gross", "gross_minor", "money"),
    Column("stripe fee", "fee_minor", "money"),
    Column("net", "net_minor", "money"),
    # Fee and net are what reached the balance, in this currency (the charge's unless converted).
    Column("settlement currency", "settlement_currency", "code"),
    Column("refunded", "refunded_minor", "money"),
    Column("disputed", "disputed_minor", "money"),
    Column("payment method", "payment_method_type", "text"),
    Column("campaign", "contribution__campaign__slug", "text"),
    Column("variant", "contribution__variant_key", "text"),
    Column("placement", "contribution__placement", "text"),
    Column("supporter name", "contribution__supporter__name", "text"),
    Column("supporter email", "contribution__supporter__email", "text"),
    Column("contribution id", "contribution_id", "int"),
    Column("stripe charge", "stripe_charge_id", "text"),
    Column("stripe invoice", "stripe_invoice_id", "text"),
    Column("stripe payout", "stripe_payout_id", "text"),
    Column("payout arrival", "payout_arrival", "date"),
)
PAYMENT_CURRENCY_INDEX = 6


def payments_filtered(*, filters: ReportFilters) -> QuerySet[Payment]:
    """Return the payments the filters select (any status unless one is given)."""
    payments = Payment.objects.filter(_scope(filters, ""))
    if filters.status:
        payments = payments.filter(status=filters.status)
    if filters.date_basis == DateBasis.PAYOUT:
        payments = payments.filter(_period(filters, "paid_at"))
    elif filters.since or filters.until:
        # A payment's date is when it was paid, or when it was created if it never was.
        payments = payments.filter(
            _period(filters, "paid_at") | (Q(paid_at__isnull=True) & _period(filters, "created_at"))
        )
    return payments


def payment_rows(*, filters: ReportFilters) -> QuerySet[Any]:
    """Return the export rows as tuples in the order of PAYMENT_COLUMNS, oldest first."""
    return (
        payments_filtered(filters=filters)
        .annotate(payout_arrival=_payout_arrival())
        .order_by("id")
        .values_list(*(column.field for column in PAYMENT_COLUMNS))
    )


# --- Monthly summary ----------------------------------------------------------------------------


@dataclasses.dataclass
class MonthSummary:
    """One month (first day) in one currency, optionally for one campaign ("" for none)."""

    month: dt.date
    currency: str
    campaign: str | None = None
    gross: int = 0
    fees: int = 0
    net: int = 0
    refunds: int = 0
    disputes: int = 0
    dispute_fees: int = 0
    payments: int = 0
    one_off_payments: int = 0
    one_off_gross: int = 0
    recurring_payments: int = 0
    recurring_gross: int = 0
    new_supporters: int = 0
    active_monthly_supporters: int = 0
    active_annual_supporters: int = 0
    mrr: int = 0
    churned_supporters: int = 0

    @property
    def net_after_refunds_and_disputes(self) -> int:
        return self.net - self.refunds - self.disputes - self.dispute_fees


SUMMARY_COLUMNS = (
    Column("month", "month", "month"),
    Column("currency", "currency", "code"),
    Column("gross", "gross", "money"),
    Column("stripe fees", "fees", "money"),
    Column("net", "net", "money"),
    Column("refunds", "refunds", "money"),
    Column("lost disputes", "disputes", "money"),
    Column("dispute fees", "dispute_fees", "money"),
    Column("net after refunds and disputes", "net_after_refunds_and_disputes", "money"),
    Column("payments", "payments", "int"),
    Column("one-off payments", "one_off_payments", "int"),
    Column("one-off gross", "one_off_gross", "money"),
    Column("recurring payments", "recurring_payments", "int"),
    Column("recurring gross", "recurring_gross", "money"),
    Column("new supporters", "new_supporters", "int"),
    Column("active monthly supporters", "active_monthly_supporters", "int"),
    Column("active annual supporters", "active_annual_supporters", "int"),
    Column("monthly recurring revenue", "mrr", "money"),
    Column("churned supporters", "churned_supporters", "int"),
)
SUMMARY_CAMPAIGN_COLUMN = Column("campaign", "campaign", "text")
# The summary's amounts, in minor units, that screens show in major units.
SUMMARY_MONEY_FIELDS = tuple(c.field for c in SUMMARY_COLUMNS if c.type == "money")


def summary_columns(*, by_campaign: bool) -> tuple[Column, ...]:
    if not by_campaign:
        return SUMMARY_COLUMNS
    return (*SUMMARY_COLUMNS[:2], SUMMARY_CAMPAIGN_COLUMN, *SUMMARY_COLUMNS[2:])


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _next_month(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1)


def _month_edges(filters: ReportFilters) -> tuple[list[dt.date], list[dt.datetime]] | None:
    """Return the period's months and the instants they start at, plus the last one's end.

    None when the period is open (or by payout date): months then come from the rows' dates.
    """
    if filters.date_basis == DateBasis.PAYOUT or not (filters.since and filters.until):
        return None
    tz = publisher_tz()
    months = list(month_starts(filters.since, filters.until))
    if not months:  # an empty period
        return None
    edges = [dt.datetime.combine(m, dt.time.min, tzinfo=tz) for m in months]
    edges.append(dt.datetime.combine(_next_month(months[-1]), dt.time.min, tzinfo=tz))
    return months, edges


class _WidthBucket(Func):
    """PostgreSQL's width_bucket over ascending instants: how many are at or before the value
    (all of them for a null value)."""

    output_field = IntegerField()

    def __init__(self, expression: Any, edges: list[dt.datetime]) -> None:
        super().__init__(expression)
        self.edges = list(edges)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        value, params = compiler.compile(self.source_expressions[0])
        sql = f"coalesce(width_bucket({value}, %s::timestamptz[]), {len(self.edges)})"
        return sql, [*params, self.edges]


def edges_passed(field: str, edges: list[dt.datetime], lo: int = 0, hi: int | None = None) -> Any:
    """Return an expression counting the `edges` (ascending) at or before `field`'s value.

    A binary search: a few comparisons of instants per row, where truncating each row's date to
    a month in a time zone costs a zone conversion per row. A null value counts every edge. On
    PostgreSQL one width_bucket call does it; elsewhere nested CASEs (which cost Django a tree of
    expressions to build and compile for every month bucket of every query).
    """
    if connection.vendor == "postgresql" and lo == 0 and hi is None:
        return _WidthBucket(F(field), edges)
    hi = len(edges) if hi is None else hi
    if lo == hi:
        return Value(lo)
    mid = (lo + hi) // 2
    return Case(
        When(Q(**{f"{field}__lt": edges[mid]}), then=edges_passed(field, edges, lo, mid)),
        default=edges_passed(field, edges, mid + 1, hi),
        output_field=IntegerField(),
    )


def _month_bucket(field: str, filters: ReportFilters) -> Any:
    """Return the month expression: of the movement's own date, or of its payout's arrival.

    Within a closed period by payment date it is the month's number (1 for the first), which
    `_key` turns back into the month.
    """
    if filters.date_basis == DateBasis.PAYOUT:
        return TruncMonth(_payout_arrival(), output_field=DateField())
    if edges := _month_edges(filters):
        return edges_passed(field, edges[1])
    return TruncMonth(field, tzinfo=publisher_tz(), output_field=DateField())


def _grouped(
    rows: QuerySet[Any], *, month: Any, currency: str, campaign: str | None
) -> QuerySet[Any]:
    keys: dict[str, Any] = {"m": month, "c": F(currency)}
    if campaign is not None:
        keys["k"] = Coalesce(F(campaign), Value(""), output_field=CharField())
    return rows.order_by().values(**keys)


def _key(
    row: dict[str, Any], by_campaign: bool, months: list[dt.date] | None
) -> tuple[dt.date, str, str | None]:
    month = months[row["m"] - 1] if isinstance(row["m"], int) and months else _as_date(row["m"])
    return (month, row["c"], row["k"] if by_campaign else None)


# Above this many months the payment sums group by a computed month instead (one scan).
MAX_MONTH_BRANCHES = 120


def _payment_sums(
    filters: ReportFilters, campaign: str | None, *, currency: str, sums: dict[str, Any]
) -> QuerySet[Any]:
    """Return the succeeded payments' `sums` by month and `currency` (and campaign).

    Within a closed period by payment date each month is a branch of its own (UNION ALL) over
    a range of `payments_payment_report_idx`, which holds every column summed here: PostgreSQL
    answers each month from the index alone and can run the branches in parallel, with no month
    to compute per row. `_key` turns the branch's month number back into the month.
    """
    payments = Payment.objects.filter(
        _scope(filters, "", currency),
        _period(filters, "paid_at"),
        status=Payment.Status.SUCCEEDED,
    )
    if currency != "currency":
        payments = payments.exclude(**{currency: ""})  # not settled yet: nothing to add
    edges = _month_edges(filters)
    if edges is None or len(edges[0]) > MAX_MONTH_BRANCHES:
        month = (
            _month_bucket("paid_at", filters)
            if edges is None
            else TruncMonth("paid_at", tzinfo=publisher_tz(), output_field=DateField())
        )
        return _grouped(payments, month=month, currency=currency, campaign=campaign).annotate(
            **sums
        )
    bounds = edges[1]
    branches = [
        _grouped(
            payments.filter(paid_at__gte=bounds[i], paid_at__lt=bounds[i + 1]),
            month=Value(i + 1, output_field=IntegerField()),
            currency=currency,
            campaign=campaign,
        ).annotate(**sums)
        for i in range(len(bounds) - 1)
    ]
    return branches[0].union(*branches[1:], all=True)


_ONE_OFF = Q(kind=Payment.Kind.ONE_OFF)
# Counting a column of the index (kind is never null), not the id, keeps scans index-only.
CHARGE_SUMS: dict[str, Any] = {
    "gross": Sum("gross_minor"),
    "payments": Count("kind"),
    "one_off_payments": Count("kind", filter=_ONE_OFF),
    "one_off_gross": Coalesce(Sum("gross_minor", filter=_ONE_OFF), 0),
}
SETTLEMENT_SUMS: dict[str, Any] = {
    "fees": Coalesce(Sum("fee_minor"), 0),
    "net": Coalesce(Sum("net_minor"), 0),
}


def monthly_summary(*, filters: ReportFilters, by_campaign: bool = False) -> list[MonthSummary]:
    """Return the summary rows ordered by month, currency (and campaign).

    The status filter does not apply: money and counts are of succeeded payments.
    """
    months: dict[tuple[dt.date, str, str | None], MonthSummary] = {}
    # Supporter counts are by calendar month even when money is by payout date.
    calendar = _month_edges(dataclasses.replace(filters, date_basis=DateBasis.PAYMENT))
    period_months = calendar[0] if calendar else None

    def row_for(row: dict[str, Any]) -> MonthSummary:
        key = _key(row, by_campaign, period_months)
        if key not in months:
            months[key] = MonthSummary(month=key[0], currency=key[1], campaign=key[2])
        return months[key]

    campaign = "contribution__campaign__slug" if by_campaign else None
    current = rollups_current()
    from_rollups = rollups_cover(filters, current=current)
    charged: Iterable[dict[str, Any]]
    settled: Iterable[dict[str, Any]]
    if from_rollups:
        charged, settled = payment_sums_from_rollups(filters, by_campaign=by_campaign)
    else:
        charged = _payment_sums(filters, campaign, currency="currency", sums=CHARGE_SUMS)
        settled = _payment_sums(
            filters, campaign, currency="settlement_currency", sums=SETTLEMENT_SUMS
        )
    for row in charged:
        summary = row_for(row)
        summary.gross = row["gross"]
        summary.payments, summary.one_off_payments = row["payments"], row["one_off_payments"]
        summary.one_off_gross = row["one_off_gross"]
        summary.recurring_payments = row["payments"] - row["one_off_payments"]
        summary.recurring_gross = row["gross"] - row["one_off_gross"]
    for row in settled:
        summary = row_for(row)
        summary.fees, summary.net = row["fees"], row["net"]

    via_payment = f"payment__{campaign}" if campaign else None
    refunds = Refund.objects.filter(
        _scope(filters, "payment__", "settlement_currency"),
        _period(filters, "refunded_at"),
        settlement_net_minor__isnull=False,
    )
    for row in _grouped(
        refunds.exclude(status__in=REFUND_NOT_MOVED),
        month=_month_bucket("refunded_at", filters),
        currency="settlement_currency",
        campaign=via_payment,
    ).annotate(total=-Sum("settlement_net_minor")):
        row_for(row).refunds = row["total"]

    for row in _lost_disputes(filters, via_payment):
        row_for(row).disputes = row["total"]
    for row in _dispute_fees(filters, via_payment):
        row_for(row).dispute_fees = row["total"]

    firsts = (
        new_supporters_from_rollups(filters, by_campaign=by_campaign)
        if from_rollups
        else _new_supporters(filters, campaign)
    )
    for row in firsts:
        row_for(row).new_supporters = row["n"]
    for row in _churned(filters, campaign):
        row_for(row).churned_supporters = row["n"]
    _add_active_recurring(filters, campaign, months, rollups=current)

    return sorted(months.values(), key=lambda s: (s.month, s.currency, s.campaign or ""))


def _withdrawal(field: str) -> Subquery:
    """The dispute's withdrawal (its first movement taking money), one field of it."""
    withdrawals = DisputeMovement.objects.filter(dispute=OuterRef("pk"), net_minor__lt=0)
    return Subquery(withdrawals.order_by("moved_at").values(field)[:1])


def _disputes_settled(disputes: QuerySet[Dispute]) -> QuerySet[Dispute]:
    """Annotate disputes with the settlement side of their money: `money_currency` and
    `withdrawn` (the amount their withdrawal took, positive), from the withdrawal's balance
    transaction; where none is recorded, the dispute's own amount and currency stand in."""
    return disputes.annotate(
        money_currency=Coalesce(_withdrawal("currency"), F("currency"), output_field=CharField()),
        withdrawn=Coalesce(
            -_withdrawal("amount_minor"), F("amount_minor"), output_field=IntegerField()
        ),
    )


def _lost_disputes(filters: ReportFilters, campaign: str | None) -> QuerySet[Any]:
    """Return the amounts lost disputes withdrew, in the settlement currency, by month: the
    month they were lost (or opened, when that is not known), or by payout date the arrival of
    the payout that carried the withdrawal."""
    if filters.date_basis == DateBasis.PAYOUT:
        withdrawals = DisputeMovement.objects.filter(
            _scope(filters, "dispute__payment__", "currency"),
            _period(filters, "moved_at"),
            dispute__status="lost",
            net_minor__lt=0,
        )
        return _grouped(
            withdrawals,
            month=_month_bucket("moved_at", filters),
            currency="currency",
            campaign=f"dispute__{campaign}" if campaign else None,
        ).annotate(total=-Sum("amount_minor"))
    lost = (
        _disputes_settled(Dispute.objects.all())
        .filter(_scope(filters, "payment__", "money_currency"), status="lost")
        .annotate(lost_at=Coalesce("closed_at", "opened_at"))
    )
    lost = lost.filter(_period(filters, "lost_at"))
    return _grouped(
        lost, month=_month_bucket("lost_at", filters), currency="money_currency", campaign=campaign
    ).annotate(total=Sum("withdrawn"))


def _dispute_fees(filters: ReportFilters, campaign: str | None) -> QuerySet[Any]:
    """Return the dispute fees Stripe kept by month, in the settlement currency: in the month the
    dispute opened (a fee given back with a won dispute already deducted), or by payout date as
    each payout carried them (a fee given back counts, negative, in the payout of the
    reinstatement)."""
    if filters.date_basis == DateBasis.PAYOUT:
        movements = DisputeMovement.objects.filter(
            _scope(filters, "dispute__payment__", "currency"), _period(filters, "moved_at")
        )
        fees = _grouped(
            movements,
            month=_month_bucket("moved_at", filters),
            currency="currency",
            campaign=f"dispute__{campaign}" if campaign else None,
        )
    else:
        opened = _disputes_settled(Dispute.objects.all()).filter(
            _scope(filters, "payment__", "money_currency"), _period(filters, "opened_at")
        )
        fees = _grouped(
            opened,
            month=_month_bucket("opened_at", filters),
            currency="money_currency",
            campaign=campaign,
        )
    return fees.annotate(total=Sum("fee_minor")).exclude(total=0)


def _contribution_scope(filters: ReportFilters, prefix: str) -> Q:
    """Return the attribute filters for contributions reached through `prefix`."""
    q = _attribution_scope(filters, prefix)
    if filters.currency:
        q &= Q(**{f"{prefix}currency": filters.currency})
    return q


def _calendar_period(filters: ReportFilters, field: str) -> Q:
    """Like _period, but always on the row's own date (supporter counts have no payout)."""
    q = Q()
    if start := filters.start():
        q &= Q(**{f"{field}__gte": start})
    if end := filters.end():
        q &= Q(**{f"{field}__lt": end})
    return q


def _calendar_month(field: str, filters: ReportFilters) -> Any:
    """Like _month_bucket, but always by the row's own date (supporter counts have no payout)."""
    if filters.since and filters.until:
        return _month_bucket(field, dataclasses.replace(filters, date_basis=DateBasis.PAYMENT))
    return TruncMonth(field, tzinfo=publisher_tz(), output_field=DateField())


def _new_supporters(filters: ReportFilters, campaign: str | None) -> Iterable[dict[str, Any]]:
    """Count supporters by the month of their first paid contribution (its currency, campaign).

    A contribution is a supporter's first when no contribution of theirs was paid earlier (an
    anti-join, not a lookup per row); one first per supporter, so a plain count is exact.
    """
    # Ties on the instant go to the lower id, so each supporter has exactly one first.
    earlier = Contribution.objects.filter(
        Q(first_paid_at__lt=OuterRef("first_paid_at"))
        | Q(first_paid_at=OuterRef("first_paid_at"), pk__lt=OuterRef("pk")),
        supporter=OuterRef("supporter_id"),
    )
    firsts = Contribution.objects.filter(
        _calendar_period(filters, "first_paid_at"),
        _contribution_scope(filters, ""),
        ~Exists(earlier),
        first_paid_at__isnull=False,
    )
    by_campaign = campaign.removeprefix("contribution__") if campaign else None
    return _grouped(
        firsts,
        month=_calendar_month("first_paid_at", filters),
        currency="currency",
        campaign=by_campaign,
    ).annotate(n=Count("pk"))


def _subscriptions(filters: ReportFilters) -> QuerySet[Subscription]:
    return Subscription.objects.filter(_contribution_scope(filters, "contribution__")).exclude(
        status__in=(Subscription.Status.INCOMPLETE, Subscription.Status.INCOMPLETE_EXPIRED)
    )


def _ended() -> Coalesce:
    """When a subscription ended: `ended_at`, else `canceled_at` once it is cancelled. A
    scheduled cancellation also sets `canceled_at` (when it was asked for) while the
    subscription stays active until `cancel_at`: it has not ended."""
    return Coalesce(
        "ended_at",
        Case(When(status=Subscription.Status.CANCELED, then=F("canceled_at"))),
        output_field=DateTimeField(),
    )


def _churned(filters: ReportFilters, campaign: str | None) -> Iterable[dict[str, Any]]:
    ended = (
        _subscriptions(filters)
        .filter(status=Subscription.Status.CANCELED)
        .annotate(ended=_ended())
        .filter(_calendar_period(filters, "ended"), ended__isnull=False)
    )
    return _grouped(
        ended,
        month=_calendar_month("ended", filters),
        currency="currency",
        campaign=campaign,
    ).annotate(n=Count("contribution__supporter_id", distinct=True))


def month_starts(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    month = first.replace(day=1)
    while month <= last:
        yield month
        month = (month + dt.timedelta(days=32)).replace(day=1)


def _add_active_recurring(
    filters: ReportFilters,
    campaign: str | None,
    months: dict[tuple[dt.date, str, str | None], MonthSummary],
    *,
    rollups: bool,
) -> None:
    """Fill active supporters and MRR at the end of each month, in one query (from the recurring
    rollup where `rollups` are current and cover the filters, else over the subscriptions).

    A subscription is active at a month's end if its first payment came before it and it had
    not ended by then. MRR adds up the amounts in force at each month's end: a subscription's
    current amount, or the one it replaced where that was still in force (SubscriptionPastAmount),
    so a change of amount leaves past months alone. An annual amount counts as a twelfth.
    """
    if filters.since and filters.until:
        first, last = filters.since, filters.until
    elif months:
        first = min(key[0] for key in months)
        last = max(key[0] for key in months)
        first, last = filters.since or first, filters.until or last
    else:
        return
    tz = publisher_tz()
    starts = list(month_starts(first, last))
    counted = (
        recurring_from_rollups(
            filters,
            by_campaign=bool(campaign),
            month_end_days=[_next_month(month) for month in starts],
        )
        if recurring_rollups_cover(filters, current=rollups)
        else _active_counted(filters, campaign, starts, tz)
    )
    for (currency, key_campaign, i), (monthly, annual, mrr) in counted.items():
        if not (monthly or annual):
            continue
        key = (starts[i], currency, key_campaign if campaign else None)
        if key not in months:
            months[key] = MonthSummary(month=starts[i], currency=key[1], campaign=key[2])
        months[key].active_monthly_supporters = monthly
        months[key].active_annual_supporters = annual
        months[key].mrr = mrr


def _active_counted(
    filters: ReportFilters, campaign: str | None, starts: list[dt.date], tz: Any
) -> ActiveCounts:
    """Count active supporters and MRR at each month's end from the subscriptions themselves."""
    subscriptions = (
        _subscriptions(filters)
        .annotate(
            began=Coalesce("contribution__first_paid_at", "created_at"),
            ended=_ended(),
            months_paid=Case(
                When(contribution__frequency=Frequency.ANNUAL, then=Value(12)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .annotate(
            monthly_minor=ExpressionWrapper(
                F("amount_minor") / F("months_paid"), output_field=IntegerField()
            )
        )
    )
    keys: dict[str, Any] = {"c": F("currency")}
    if campaign:
        keys["k"] = Coalesce(F(campaign), Value(""), output_field=CharField())
    ends = [dt.datetime.combine(_next_month(month), dt.time.min, tzinfo=tz) for month in starts]
    if connection.vendor == "postgresql" and len(ends) <= MAX_MASK_MONTHS:
        return _active_by_intervals(subscriptions, keys, ends)
    return _active_by_filters(subscriptions, keys, ends)


# Months a bigint holds one bit each for (the interval path's limit).
MAX_MASK_MONTHS = 62
ActiveCounts = dict[tuple[str, str, int], tuple[int, int, int]]


def _active_by_filters(
    subscriptions: QuerySet[Subscription], keys: dict[str, Any], ends: list[dt.datetime]
) -> ActiveCounts:
    """Count with three filtered aggregates per month (any database; slower on large sets).

    The rows are one per subscription and amount it replaced (a subscription that never changed
    its amount is one row, with none). Supporters are counted distinct. MRR counts the current
    amount once per subscription, on its row with no start (its first replaced amount, or its
    only row), plus the difference each replaced amount made where it was in force.
    """
    rows = subscriptions.annotate(
        past_from=F("past_amounts__valid_from"),
        past_until=F("past_amounts__valid_until"),
        past_difference=ExpressionWrapper(
            F("past_amounts__amount_minor") / F("months_paid") - F("monthly_minor"),
            output_field=IntegerField(),
        ),
    )
    aggregates: dict[str, Any] = {}
    for i, end in enumerate(ends):
        active = Q(began__lt=end) & (Q(ended__isnull=True) | Q(ended__gte=end))
        past_in_force = Q(past_until__gte=end) & (Q(past_from__isnull=True) | Q(past_from__lt=end))
        monthly = active & Q(contribution__frequency=Frequency.MONTHLY)
        annual = active & Q(contribution__frequency=Frequency.ANNUAL)
        supporter = "contribution__supporter_id"
        aggregates[f"monthly_{i}"] = Count(supporter, distinct=True, filter=monthly)
        aggregates[f"annual_{i}"] = Count(supporter, distinct=True, filter=annual)
        aggregates[f"mrr_{i}"] = Coalesce(
            Sum("monthly_minor", filter=active & Q(past_from__isnull=True)), 0
        ) + Coalesce(Sum("past_difference", filter=active & past_in_force), 0)
    counted: ActiveCounts = {}
    for row in cast(
        Iterable[dict[str, Any]], rows.order_by().values(**keys).annotate(**aggregates)
    ):
        for i in range(len(ends)):
            counted[(row["c"], row.get("k", ""), i)] = (
                row[f"monthly_{i}"],
                row[f"annual_{i}"],
                row[f"mrr_{i}"],
            )
    return counted


def _active_by_intervals(
    subscriptions: QuerySet[Subscription], keys: dict[str, Any], ends: list[dt.datetime]
) -> ActiveCounts:
    """Count the same in two small aggregates, for up to MAX_MASK_MONTHS months (PostgreSQL).

    Each subscription is active at the month ends numbered b to x-1, where b and x count the
    ends at or before its start and its end (`edges_passed`). MRR sums the current amounts by
    (b, x); each amount a subscription replaced was in force at the ends numbered pb to px-1,
    counted the same way, and where both hold, greatest(b, pb) to least(x, px)-1, the
    difference it made is added. A supporter is counted once per month, however many
    subscriptions they have: their subscriptions' intervals are OR-ed into one bit mask per
    supporter, and supporters are counted by mask. Python then spreads both over the months: a
    few hundred rows, not one per subscription.
    """
    keys = {"k": Value("", output_field=CharField()), **keys}
    rows = subscriptions.order_by().values(
        **keys,
        sid=F("pk"),
        months=F("months_paid"),
        supporter=F("contribution__supporter_id"),
        f=F("contribution__frequency"),
        b=edges_passed("began", ends),
        x=edges_passed("ended", ends),
        r=F("monthly_minor"),
    )
    # Amounts replaced before the first month's end were never in force at any of these ends.
    past = SubscriptionPastAmount.objects.filter(valid_until__gte=ends[0]).values(
        sid=F("subscription_id"),
        amount=F("amount_minor"),
        # The first amount has no start: it was in force from the subscription's.
        pb=Case(
            When(valid_from__isnull=True, then=Value(0)),
            default=edges_passed("valid_from", ends),
            output_field=IntegerField(),
        ),
        px=edges_passed("valid_until", ends),
    )
    sql, params = rows.query.sql_with_params()
    past_sql, past_params = past.order_by().query.sql_with_params()
    # The inner SQL is the ORM's, with its values as parameters (in the order they appear).
    query = f"""
        WITH s AS MATERIALIZED ({sql})
        SELECT 'mrr', c, k, '', b, x, sum(r) FROM (
            SELECT c, k, b, x, r FROM s
            UNION ALL
            SELECT s.c, s.k, greatest(s.b, p.pb), least(s.x, p.px),
                   p.amount / s.months - s.r
            FROM s JOIN ({past_sql}) p ON p.sid = s.sid
        ) amounts WHERE b < x GROUP BY c, k, b, x
        UNION ALL
        SELECT 'supporters', c, k, f, mask, 0, count(*) FROM (
            SELECT c, k, f,
                   bit_or(((1::bigint << x) - 1) # ((1::bigint << b) - 1)) AS mask
            FROM s WHERE b < x AND supporter IS NOT NULL GROUP BY c, k, f, supporter
        ) supporters GROUP BY c, k, f, mask
    """  # noqa: S608
    totals: dict[tuple[str, str, int], list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(query, (*params, *past_params))
        for part, currency, campaign, frequency, first, stop, value in cursor.fetchall():
            if part == "mrr":
                months = list(range(first, stop))
            else:
                months = [i for i in range(len(ends)) if first >> i & 1]
            for i in months:
                counts = totals.setdefault((currency, campaign, i), [0, 0, 0])
                if part == "mrr":
                    counts[2] += value
                elif frequency == Frequency.MONTHLY:
                    counts[0] += value
                elif frequency == Frequency.ANNUAL:
                    counts[1] += value
    return {key: (monthly, annual, mrr) for key, (monthly, annual, mrr) in totals.items()}
