"""`manage.py export_contributions`: its filters, formats, audit and progress bar."""

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from finance.models import ExportAudit
from tests.finance_factories import CampaignFactory, PayoutFactory, give

UTC = dt.UTC


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def ledger():
    spring = CampaignFactory.create(slug="spring")
    give(
        paid_at=dt.datetime(2026, 1, 5, tzinfo=UTC),
        gross=1000,
        fee=50,
        campaign=spring,
        variant="b",
        stripe_payout_id="po_feb",
    )
    give(
        paid_at=dt.datetime(2026, 1, 20, tzinfo=UTC),
        gross=500,
        fee=30,
        currency="GBP",
        method="sepa_debit",
    )
    give(
        paid_at=dt.datetime(2026, 2, 3, tzinfo=UTC),
        gross=1500,
        fee=60,
        frequency="monthly",
        kind="subscription_first",
        campaign=spring,
    )
    give(
        paid_at=dt.datetime(2026, 2, 9, tzinfo=UTC),
        gross=700,
        fee=0,
        status="failed",
        failed_at=dt.datetime(2026, 2, 9, tzinfo=UTC),
    )
    PayoutFactory.create(stripe_payout_id="po_feb", arrival_date=dt.date(2026, 2, 2))


def export(*args: str) -> list[dict]:
    out = io.StringIO()
    call_command("export_contributions", *args, stdout=out)
    text = out.getvalue()
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "grosses"),
    [
        ([], ["10.00", "5.00", "15.00", "7.00"]),
        (["--since", "2026-01-01", "--until", "2026-01-31"], ["10.00", "5.00"]),
        (["--since", "2026-02-01"], ["15.00", "7.00"]),
        (["--currency", "gbp"], ["5.00"]),
        (["--frequency", "monthly"], ["15.00"]),
        (["--campaign", "spring"], ["10.00", "15.00"]),
        (["--campaign", "spring", "--variant", "b"], ["10.00"]),
        (["--status", "failed"], ["7.00"]),
        (["--payment-method", "sepa_debit"], ["5.00"]),
        (["--date-basis", "payout", "--since", "2026-02-01", "--until", "2026-02-28"], ["10.00"]),
    ],
)
def test_payment_filters(ledger, args, grosses):
    assert [row["gross"] for row in export(*args)] == grosses


@pytest.mark.django_db
def test_summary_to_a_file_and_the_audit(ledger, tmp_path):
    target = tmp_path / "summary.xlsx"
    err = io.StringIO()
    call_command(
        "export_contributions",
        "--kind",
        "summary_by_campaign",
        "--format",
        "xlsx",
        "--output",
        str(target),
        "--since",
        "2026-01-01",
        "--until",
        "2026-02-28",
        stdout=io.StringIO(),
        stderr=err,
    )
    sheet = openpyxl.load_workbook(target).active
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in sheet.iter_rows(2)]
    assert [(r["month"].month, r["currency"], r["campaign"], r["gross"]) for r in rows] == [
        (1, "EUR", "spring", 10.0),
        (1, "GBP", None, 5.0),  # no campaign: a blank cell
        (2, "EUR", "spring", 15.0),
    ]
    assert "3 rows written" in err.getvalue()
    assert not list(tmp_path.glob("*.partial"))
    audit = ExportAudit.objects.get()
    assert (audit.channel, audit.kind, audit.format, audit.row_count) == (
        "command",
        "summary_by_campaign",
        "xlsx",
        3,
    )
    assert audit.username.endswith("(command line)")
    assert audit.filters == {"since": "2026-01-01", "until": "2026-02-28", "date_basis": "payment"}


@pytest.mark.django_db
def test_progress_bar_only_on_a_terminal(ledger, tmp_path, capsys):
    call_command("export_contributions", "--output", str(tmp_path / "a.csv"), stdout=io.StringIO())
    assert "rows/s" not in capsys.readouterr().err
    call_command("export_contributions", "--output", str(tmp_path / "b.csv"), stdout=Terminal())
    assert "4/4 rows (100%" in capsys.readouterr().err


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-13-01"], "--since: Enter a valid date."),
        (["--since", "2026-03-01", "--until", "2026-01-01"], "start of the period is after"),
        (["--campaign", "nope"], "There is no campaign with the slug"),
        (["--currency", "CHF"], "--currency: Select a valid choice."),
        (["--format", "xlsx"], "XLSX needs a file"),
        (["--output", "/nonexistent/folder/x.csv"], "does not exist"),
    ],
)
def test_bad_arguments_are_explained(ledger, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_contributions", *args, stdout=io.StringIO())
    assert not ExportAudit.objects.exists()
