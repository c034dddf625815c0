"""Finding 2 of the security review: no export keeps a live formula.

Every export path (finance CSV, XLSX and the PostgreSQL COPY CSV; survey CSV and XLSX) runs the
same corpus of hard cases through `finance.exports.neutralise`, the one rule for all of them.
XLSX files are opened with openpyxl: no cell may be a formula.
"""

import csv
import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from django.contrib.auth.models import Group, User
from openpyxl.utils.escape import unescape

from finance.exports import neutralise
from finance.filters import ReportFilters
from finance.models import ExportFormat, ExportKind
from finance.services import export_file_write
from staff.roles import EDITORIAL
from surveys.models import Answer, Response
from surveys.tests.factories import survey_create
from tests.finance_factories import CampaignFactory, SupporterFactory, give
from tests.hard_cases import FORMULA_TEXTS

pytestmark = pytest.mark.django_db

BENIGN = ["Alice", "", "3 + 4", "O'Brien", "a=b", "reader@example.org", "1-2", "Zoë 山田", "'x"]
EXPECTED = ["'" + text for text in FORMULA_TEXTS]


@pytest.mark.parametrize("text", FORMULA_TEXTS)
def test_every_formula_look_alike_gets_a_leading_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", BENIGN)
def test_ordinary_text_is_left_alone(text):
    assert neutralise(text) == text


def assert_no_formula(path_or_file) -> list[list[object]]:
    """Open the workbook as a spreadsheet program would; return its values row by row."""
    workbook = openpyxl.load_workbook(path_or_file)
    rows = []
    for row in workbook.active.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula: {cell.value!r}"
        rows.append([cell.value for cell in row])
    return rows


@pytest.fixture
def hostile_ledger(db):
    campaign = CampaignFactory.create(slug="spring")
    for i, name in enumerate(FORMULA_TEXTS):
        give(
            supporter=SupporterFactory.create(name=name, email=f"r{i}@example.com"),
            paid_at=dt.datetime(2026, 1, 10, 12, i, tzinfo=dt.UTC),
            gross=1000,
            fee=30,
            campaign=campaign,
        )


def _names_in_order(rows: list[dict[Any, Any]]) -> list[str]:
    return [row["supporter name"] for row in sorted(rows, key=lambda row: int(row["payment id"]))]


def test_finance_csv(hostile_ledger, tmp_path):
    path = tmp_path / "payments.csv"
    export_file_write(
        path=str(path), kind=ExportKind.PAYMENTS, fmt=ExportFormat.CSV, filters=ReportFilters()
    )

    with path.open(encoding="utf-8-sig", newline="") as handle:
        assert _names_in_order(list(csv.DictReader(handle))) == EXPECTED


def test_finance_xlsx(hostile_ledger, tmp_path):
    path = tmp_path / "payments.xlsx"
    export_file_write(
        path=str(path), kind=ExportKind.PAYMENTS, fmt=ExportFormat.XLSX, filters=ReportFilters()
    )

    header, *rows = assert_no_formula(path)
    # openpyxl leaves the _xHHHH_ escapes of inline strings as they are; Excel reads them back.
    records = [dict(zip(header, (unescape(str(v)) for v in row), strict=True)) for row in rows]
    assert _names_in_order(records) == EXPECTED


@pytest.mark.postgres
def test_finance_csv_straight_from_postgresql(hostile_ledger):
    from finance.pg_copy import PaymentsCsvCopy

    text = b"".join(PaymentsCsvCopy(filters=ReportFilters())).decode("utf-8-sig")

    assert _names_in_order(list(csv.DictReader(io.StringIO(text, newline="")))) == EXPECTED


@pytest.fixture
def survey_with_hostile_answers(db):
    survey = survey_create()
    version = survey.versions.get()
    for text in FORMULA_TEXTS:
        response = Response.objects.create(
            survey=survey,
            version=version,
            started_at=dt.datetime(2026, 1, 10, tzinfo=dt.UTC),
            submitted_at=dt.datetime(2026, 1, 10, tzinfo=dt.UTC),
            duration_seconds=30,
        )
        Answer.objects.create(
            survey=survey,
            version=version,
            response=response,
            question_key="why",
            value="",
            text=text,
            first_value=True,
        )
    return survey


@pytest.fixture
def editorial_client(client):
    user = User.objects.create_user(username="editor", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITORIAL))
    client.force_login(user)
    return client


def test_survey_csv(editorial_client, survey_with_hostile_answers):
    response = editorial_client.get(
        f"/admin/surveys/survey/{survey_with_hostile_answers.pk}/export.csv"
    )

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["why"] for row in rows] == EXPECTED


def test_survey_xlsx(editorial_client, survey_with_hostile_answers):
    response = editorial_client.get(
        f"/admin/surveys/survey/{survey_with_hostile_answers.pk}/export.xlsx"
    )

    header, *rows = assert_no_formula(io.BytesIO(b"".join(response.streaming_content)))
    assert [unescape(row[header.index("why")]) for row in rows] == EXPECTED
