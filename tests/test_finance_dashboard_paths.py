"""The dashboard's fast paths give exactly what the general queries give, and use the index.

The monthly summary has fast paths for a closed period: payment sums as one branch per month
over the covering index, months found by comparing instants with the month edges, and active
supporters counted from subscription intervals (PostgreSQL). Each is checked here against the
general query it replaces (months truncated in the time zone, one filtered aggregate per month),
over the hand-checked ledger plus a supporter with overlapping and interrupted subscriptions.
"""

import dataclasses
import datetime as dt
import zipfile
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from django.db import connection
from django.db.models import Value

from finance import selectors
from finance.exports import xlsx_write
from finance.selectors import Column, MonthSummary, monthly_summary
from payments.models import Payment, Subscription
from tests.finance_factories import SubscriptionFactory, SupporterFactory, give
from tests.test_finance_reports import PERIOD, at, ledger  # noqa: F401 - the fixture

APR = dt.date(2026, 4, 1)


@pytest.fixture
def twice_subscribed(ledger):  # noqa: F811 - the fixture imported above
    """Gina: two monthly subscriptions at once from Jan to Feb, then none in March, then one."""
    gina = SupporterFactory.create(name="Gina")
    for paid, ended in ((at(1, 3), at(3, 2)), (at(1, 8), at(2, 27)), (at(4, 2), None)):
        first = give(
            supporter=gina,
            paid_at=paid,
            gross=300,
            fee=20,
            frequency="monthly",
            kind=Payment.Kind.SUBSCRIPTION_FIRST,
        )
        SubscriptionFactory.create(
            contribution=first.contribution,
            status=Subscription.Status.CANCELED if ended else Subscription.Status.ACTIVE,
            canceled_at=ended,
            ended_at=ended,
        )


@pytest.fixture(autouse=True)
def _from_the_payments(monkeypatch):
    """Here the raw paths are compared (they still answer what the daily rollups do not cover;
    tests/test_finance_rollups.py compares the rollups with them)."""
    monkeypatch.setattr(selectors, "rollups_cover", lambda filters, current: False)
    monkeypatch.setattr(selectors, "recurring_rollups_cover", lambda filters, current: False)


def general(filters, *, by_campaign: bool, monkeypatch) -> list[MonthSummary]:
    """Return the summary the way the general queries compute it."""
    with monkeypatch.context() as patch:
        patch.setattr(selectors, "_month_edges", lambda filters: None)
        patch.setattr(selectors, "MAX_MASK_MONTHS", 0)
        return monthly_summary(filters=filters, by_campaign=by_campaign)


@pytest.mark.django_db
@pytest.mark.parametrize("by_campaign", [False, True])
def test_fast_paths_give_what_the_general_queries_give(twice_subscribed, by_campaign, monkeypatch):
    fast = monthly_summary(filters=PERIOD, by_campaign=by_campaign)
    assert fast == general(PERIOD, by_campaign=by_campaign, monkeypatch=monkeypatch)
    eur = {(row.month, row.campaign or ""): row for row in fast if row.currency == "EUR"}
    if not by_campaign:
        # Bob and Gina at the end of January; Gina's two subscriptions count her once.
        assert eur[(dt.date(2026, 1, 1), "")].active_monthly_supporters == 2
        assert eur[(dt.date(2026, 1, 1), "")].mrr == 500 + 300 + 300
        # Both of hers ended before the end of March, Bob's too: nobody.
        assert (dt.date(2026, 3, 1), "") not in eur or not eur[
            (dt.date(2026, 3, 1), "")
        ].active_monthly_supporters
        assert eur[(APR, "")].active_monthly_supporters == 1
        # The GBP payment at 23:30 UTC on 31 March is London's 1 April.
        gbp = {row.month: row for row in fast if row.currency == "GBP"}
        assert gbp[APR].gross == 2000


@pytest.mark.django_db
def test_fast_paths_with_filters_and_payout_dates(twice_subscribed, monkeypatch):
    for filters in (
        dataclasses.replace(PERIOD, currency="EUR"),
        dataclasses.replace(PERIOD, frequency="monthly"),
        dataclasses.replace(PERIOD, campaign="spring", variant="control"),
        dataclasses.replace(PERIOD, payment_method="sepa_debit"),
        dataclasses.replace(PERIOD, since=dt.date(2026, 2, 14), until=dt.date(2026, 3, 31)),
        dataclasses.replace(PERIOD, date_basis="payout"),
    ):
        fast = monthly_summary(filters=filters)
        assert fast == general(filters, by_campaign=False, monkeypatch=monkeypatch), filters


@pytest.mark.django_db
def test_long_periods_fall_back_to_computed_months(twice_subscribed, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_MONTH_BRANCHES", 2)
    assert monthly_summary(filters=PERIOD) == general(
        PERIOD, by_campaign=False, monkeypatch=monkeypatch
    )


@pytest.mark.django_db
def test_edges_passed_counts_the_edges_at_or_before_a_value():
    give(paid_at=at(2, 1), gross=100, fee=1)
    edges = [at(1, 1), at(2, 1), at(3, 1)]
    for value, expected in ((at(1, 1), 1), (at(1, 31), 1), (at(2, 1), 2), (at(4, 1), 3)):
        passed = (
            Payment.objects.annotate(v=Value(value))
            .annotate(n=selectors.edges_passed("v", edges))
            .values_list("n", flat=True)
            .get()
        )
        assert passed == expected, value


@pytest.mark.django_db
@pytest.mark.postgres
def test_monthly_payment_sums_read_only_the_covering_index(ledger):  # noqa: F811
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'payments_payment_report_idx'"
        )
        (definition,) = cursor.fetchone()
        included = "currency, kind, gross_minor, fee_minor, net_minor, settlement_currency"
        assert f"(status, paid_at) INCLUDE ({included})" in definition
        # A handful of rows is read faster from the table: ask whether the index can serve.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    for currency, sums in (
        ("currency", selectors.CHARGE_SUMS),
        ("settlement_currency", selectors.SETTLEMENT_SUMS),
    ):
        plan = selectors._payment_sums(PERIOD, None, currency=currency, sums=sums).explain()
        assert plan.count("Index Only Scan using payments_payment_report_idx") == 4  # 4 months
        assert "Seq Scan" not in plan


HOSTILE_TEXT = [
    "plain",
    "&amp; <b>bold</b> > less",
    "_x0041_ looks like an escape",
    "bell\x07 and \x01 control",
    " leading and trailing ",
    "Zoë Ångström 中文 😀",
    "line\nbreak",
    "=1+1",
]


def test_xlsx_cells_read_back_as_xlsxwriter_would_write_them(tmp_path, settings):
    settings.PUBLISHER_TIME_ZONE = "Europe/London"
    columns = (
        Column("id", "id", "int"),
        Column("name", "name", "text"),
        Column("currency", "currency", "code"),
        Column("amount", "amount", "money"),
        Column("day", "day", "date"),
        Column("at", "at", "datetime"),
    )
    rows: list[tuple[Any, ...]] = [
        (i, text, "JPY" if i % 2 else "EUR", -1234 * i, dt.date(2026, 1, 1 + i), at(3, 29, i))
        for i, text in enumerate(HOSTILE_TEXT)
    ]
    rows.append((99, None, "EUR", None, None, None))
    ours = tmp_path / "ours.xlsx"
    assert xlsx_write(path=str(ours), sheet="S", columns=columns, rows=rows, currency_index=2) == 9

    # The previous writer: xlsxwriter's own cells, inline strings (constant-memory mode).
    reference = tmp_path / "reference.xlsx"
    workbook = xlsxwriter.Workbook(str(reference), {"constant_memory": True})
    sheet = workbook.add_worksheet("S")
    for r, row in enumerate(rows, start=1):
        sheet.write_number(r, 0, row[0])
        if row[1] is not None:
            text = row[1]
            sheet.write_string(r, 1, "'" + text if text.startswith("=") else text)
        sheet.write_string(r, 2, row[2])
        if row[3] is not None:
            sheet.write_number(r, 3, row[3] / (1 if row[2] == "JPY" else 100))
    workbook.close()

    ours_sheet = openpyxl.load_workbook(ours).active
    reference_sheet = openpyxl.load_workbook(reference).active
    for r in range(2, len(rows) + 2):
        for c in range(1, 5):
            assert ours_sheet.cell(r, c).value == reference_sheet.cell(r, c).value, (r, c)
    assert ours_sheet.cell(2, 5).value == dt.datetime(2026, 1, 1)
    # 29 March 2026, 01:00 UTC is 02:00 in London (summer time began at 01:00 UTC).
    assert ours_sheet.cell(3, 6).value == dt.datetime(2026, 3, 29, 2, 0)
    assert ours_sheet.cell(3, 6).number_format == "yyyy-mm-dd hh:mm:ss"
    assert ours_sheet.cell(2, 4).number_format == "#,##0.00"
    assert ours_sheet.cell(3, 4).number_format == "#,##0"
    assert ours_sheet.freeze_panes == "A2"
    assert [cell.value for cell in ours_sheet[1]] == [column.header for column in columns]
    with zipfile.ZipFile(ours) as package:
        assert package.testzip() is None
