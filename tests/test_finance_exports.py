"""Exports: formula neutralisation, Unicode round trips through CSV and XLSX, exact amounts."""

import csv
import datetime as dt
import io

import openpyxl
import pytest

from finance.exports import BOM, minor_to_major_text, neutralise
from finance.filters import ReportFilters
from finance.models import ExportFormat, ExportKind
from finance.services import export_file_write
from tests.finance_factories import CampaignFactory, PayoutFactory, SupporterFactory, give

UTC = dt.UTC
HOSTILE = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR", '=HYPERLINK("http://x")']
UNICODE_NAME = "Zoë Ørsted-Łukasiewicz 山田太郎 Ἀθηνᾶ 👩🏽‍💻"


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_gets_a_leading_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["Alice", "", "3 + 4", "O'Brien", "x =", "a=b"])
def test_ordinary_text_is_left_alone(text):
    assert neutralise(text) == text


def test_minor_units_become_exact_major_units():
    assert minor_to_major_text(1234, "EUR") == "12.34"
    assert minor_to_major_text(5, "GBP") == "0.05"
    assert minor_to_major_text(-250, "USD") == "-2.50"
    assert minor_to_major_text(1234, "JPY") == "1234"


@pytest.fixture
def hostile_ledger(settings):
    settings.PUBLISHER_TIME_ZONE = "Europe/Paris"
    campaign = CampaignFactory.create(slug="spring")
    payments = []
    for i, name in enumerate([UNICODE_NAME, *HOSTILE]):
        supporter = SupporterFactory.create(name=name, email=f"r{i}@example.com")
        payments.append(
            give(
                supporter=supporter,
                paid_at=dt.datetime(2026, 1, 10, 23, 30, tzinfo=UTC),
                gross=1050,
                fee=40,
                campaign=campaign,
                variant="-b",
            )
        )
    # A payout-like negative net: the number must stay a number.
    payments[0].net_minor = -250
    payments[0].save()
    return payments


@pytest.mark.django_db
def test_csv_round_trip_unicode_and_neutralised(hostile_ledger, tmp_path):
    path = tmp_path / "payments.csv"
    count = export_file_write(
        path=str(path), kind=ExportKind.PAYMENTS, fmt=ExportFormat.CSV, filters=ReportFilters()
    )
    assert count == len(HOSTILE) + 1
    raw = path.read_bytes()
    assert raw.startswith(BOM.encode("utf-8"))  # Excel needs the BOM to read UTF-8

    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    names = [row["supporter name"] for row in rows]
    assert names[0] == UNICODE_NAME
    assert names[1:] == ["'" + text for text in HOSTILE]
    assert {row["variant"] for row in rows} == {"'-b"}
    first = rows[0]
    assert (first["gross"], first["stripe fee"], first["net"]) == ("10.50", "0.40", "-2.50")
    # 23:30 UTC is already the next day in Paris.
    assert first["paid at"] == "2026-01-11 00:30:00"
    assert first["currency"] == "EUR"


@pytest.mark.django_db
def test_xlsx_round_trip_keeps_numbers_numeric(hostile_ledger, tmp_path):
    path = tmp_path / "payments.xlsx"
    count = export_file_write(
        path=str(path), kind=ExportKind.PAYMENTS, fmt=ExportFormat.XLSX, filters=ReportFilters()
    )
    assert count == len(HOSTILE) + 1
    sheet = openpyxl.load_workbook(path).active
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(2)]
    assert rows[0]["supporter name"] == UNICODE_NAME
    # A carriage return is stored as OOXML's escape _x000D_, which Excel decodes (openpyxl not).
    names = [row["supporter name"].replace("_x000D_", "\r") for row in rows[1:]]
    assert names == ["'" + text for text in HOSTILE]
    # Text cells are strings, never formulas; amounts are real (negative) numbers.
    for row in sheet.iter_rows(2):
        assert all(cell.data_type != "f" for cell in row)
    assert rows[0]["net"] == -2.5
    assert rows[0]["gross"] == 10.5
    assert rows[0]["paid at"] == dt.datetime(2026, 1, 11, 0, 30)


@pytest.mark.django_db
def test_summary_exports_in_both_formats(hostile_ledger, tmp_path):
    filters = ReportFilters(since=dt.date(2026, 1, 1), until=dt.date(2026, 1, 31))
    csv_path, xlsx_path = tmp_path / "s.csv", tmp_path / "s.xlsx"
    assert (
        export_file_write(
            path=str(csv_path), kind=ExportKind.SUMMARY, fmt=ExportFormat.CSV, filters=filters
        )
        == 1
    )
    row = next(csv.DictReader(io.StringIO(csv_path.read_text("utf-8-sig"))))
    assert (row["month"], row["currency"], row["gross"], row["payments"]) == (
        "2026-01",
        "EUR",
        "84.00",
        "8",
    )
    export_file_write(
        path=str(xlsx_path),
        kind=ExportKind.SUMMARY_BY_CAMPAIGN,
        fmt=ExportFormat.XLSX,
        filters=filters,
    )
    sheet = openpyxl.load_workbook(xlsx_path).active
    header = [c.value for c in sheet[1]]
    values = dict(zip(header, (c.value for c in sheet[2]), strict=True))
    assert values["campaign"] == "spring"
    assert values["gross"] == 84.0
    assert values["new supporters"] == 8


@pytest.mark.django_db
@pytest.mark.postgres
def test_postgres_copy_gives_the_same_csv_as_the_python_writer(hostile_ledger, settings):
    from finance.services import CsvExport
    from payments.models import Payment

    # Cover the other columns too: refunds, a payout and its arrival date, an invoice id.
    PayoutFactory.create(stripe_payout_id="po_x", arrival_date=dt.date(2026, 2, 2))
    Payment.objects.filter(pk=hostile_ledger[1].pk).update(
        stripe_payout_id="po_x", refunded_minor=5, stripe_invoice_id="in_1", fee_minor=None
    )
    filters = ReportFilters(since=dt.date(2026, 1, 1), until=dt.date(2026, 1, 31))

    def parsed(export):
        body = b"".join(export)
        assert body.startswith(BOM.encode("utf-8"))
        return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))

    copy = CsvExport(kind=ExportKind.PAYMENTS, filters=filters, use_copy=True)
    python = CsvExport(kind=ExportKind.PAYMENTS, filters=filters, use_copy=False)
    copied, written = parsed(copy), parsed(python)
    assert copied == written
    assert len(copied) == len(HOSTILE) + 2
    assert copy.rows == python.rows == len(HOSTILE) + 1
    assert copy.completed and python.completed
    assert copied[1][copied[0].index("net")] == "-2.50"
    assert copied[2][copied[0].index("payout arrival")] == "2026-02-02"
