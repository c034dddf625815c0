"""The finance admin: who may see the dashboard and export, what the exports contain, and the
large-export path through a job, an e-mailed signed link and its expiry."""

import csv
import datetime as dt
import io
import re

import openpyxl
import pytest
from django.core import mail
from django.urls import reverse

from finance import services
from finance.models import ExportAudit, ExportJob
from finance.tasks import export_files_expire_task, export_job_run_task
from staff.roles import EDITORIAL, FINANCE, SUPPORT
from staff.tests.helpers import staff_member
from tests.finance_factories import (
    DisputeFactory,
    DisputeMovementFactory,
    PayoutFactory,
    RefundFactory,
    give,
)

UTC = dt.UTC
DASHBOARD = "admin:finance_financedashboard_changelist"
EXPORT = "admin:finance_export"
PERIOD = {"since": "2026-01-01", "until": "2026-03-31"}


@pytest.fixture
def ledger():
    first = give(paid_at=dt.datetime(2026, 1, 10, 12, tzinfo=UTC), gross=1000, fee=50)
    RefundFactory.create(payment=first, refunded_at=dt.datetime(2026, 2, 1, tzinfo=UTC))
    give(paid_at=dt.datetime(2026, 2, 10, 12, tzinfo=UTC), gross=2000, fee=70, currency="GBP")
    give(paid_at=dt.datetime(2026, 3, 10, 12, tzinfo=UTC), gross=500, fee=30, currency="USD")


@pytest.mark.django_db
@pytest.mark.parametrize("role", [SUPPORT, EDITORIAL, None])
def test_only_finance_sees_the_dashboard_and_may_export(client, ledger, role):
    client.force_login(staff_member(role))
    assert client.get(reverse(DASHBOARD)).status_code in (403, 404)
    response = client.get(reverse(EXPORT), {**PERIOD, "kind": "payments", "format": "csv"})
    assert response.status_code in (403, 404)
    assert not ExportAudit.objects.exists()
    index = client.get(reverse("admin:index")).content.decode()
    assert "Finance dashboard" not in index


@pytest.mark.django_db
def test_finance_roles_in_the_admin():
    user = staff_member(FINANCE)
    assert user.has_perm("payments.export_payments")
    assert user.has_perm("finance.view_exportaudit")
    assert not user.has_perm("finance.change_exportaudit")
    assert not user.has_perm("finance.delete_exportaudit")
    assert user.has_perm("finance.view_payoutreconciliation")


@pytest.mark.django_db
def test_dashboard_shows_charts_and_totals(client, ledger, django_assert_max_num_queries):
    client.force_login(staff_member(FINANCE))
    with django_assert_max_num_queries(20):
        response = client.get(reverse(DASHBOARD), PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="finance-chart"') == 9  # three charts per currency
    assert "<script" not in html.split('id="content-main"')[1]
    assert '<td class="num">10.00</td>' in html
    assert ">GBP<" in html
    # The default period (no filters) renders too, as does a bad filter (with the reason).
    assert client.get(reverse(DASHBOARD)).status_code == 200
    bad = client.get(reverse(DASHBOARD), {"since": "2026-05-01", "until": "2026-01-01"})
    assert bad.status_code == 200
    assert "The start of the period is after its end." in bad.content.decode()


@pytest.mark.django_db
def test_admin_csv_export_streams_and_is_audited(client, ledger):
    user = staff_member(FINANCE)
    client.force_login(user)
    response = client.get(
        reverse(EXPORT), {**PERIOD, "currency": "EUR", "kind": "payments", "format": "csv"}
    )
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(r["currency"], r["gross"], r["refunded"]) for r in rows] == [("EUR", "10.00", "0.00")]
    audit = ExportAudit.objects.get()
    assert (audit.user, audit.channel, audit.kind, audit.format, audit.row_count) == (
        user,
        "admin",
        "payments",
        "csv",
        1,
    )
    assert audit.filters == {**PERIOD, "date_basis": "payment", "currency": "EUR"}
    assert audit.completed


@pytest.mark.django_db
def test_admin_xlsx_summary_export(client, ledger):
    client.force_login(staff_member(FINANCE))
    response = client.get(reverse(EXPORT), {**PERIOD, "kind": "summary", "format": "xlsx"})
    assert response.status_code == 200
    assert 'filename="summary-2026-01-01-to-2026-03-31.xlsx"' in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in sheet.iter_rows(2)]
    assert [(r["currency"], r["gross"], r["refunds"]) for r in rows] == [
        ("EUR", 10.0, 0),
        ("EUR", 0, 10.0),
        ("GBP", 20.0, 0),
        ("USD", 5.0, 0),
    ]
    assert ExportAudit.objects.get().format == "xlsx"


@pytest.mark.django_db
def test_bad_export_requests_say_what_is_wrong(client, ledger):
    client.force_login(staff_member(FINANCE))
    response = client.get(reverse(EXPORT), {"kind": "everything", "format": "pdf"}, follow=True)
    assert "Choose what to export" in response.content.decode()
    response = client.get(
        reverse(EXPORT),
        {"kind": "payments", "format": "csv", "campaign": "nope", "since": "yesterday"},
        follow=True,
    )
    html = response.content.decode()
    assert "There is no campaign with the slug" in html
    assert "Enter a valid date" in html
    assert not ExportAudit.objects.exists()


@pytest.mark.django_db
def test_audit_is_append_only(ledger):
    audit = ExportAudit.objects.create(
        channel="command", kind="payments", format="csv", row_count=3
    )
    audit.row_count = 0
    with pytest.raises(ValueError, match="append-only"):
        audit.save()
    with pytest.raises(ValueError, match="append-only"):
        audit.delete()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_audit_is_append_only_in_the_database_too(ledger):
    from django.db import DatabaseError

    ExportAudit.objects.create(channel="command", kind="payments", format="csv", row_count=3)
    with pytest.raises(DatabaseError, match="append-only"):
        ExportAudit.objects.update(row_count=0)
    with pytest.raises(DatabaseError, match="append-only"):
        ExportAudit.objects.all()._raw_delete(ExportAudit.objects.db)


@pytest.mark.django_db
def test_large_export_runs_as_a_job_with_progress_and_an_expiring_link(
    client, ledger, settings, django_capture_on_commit_callbacks, tmp_path
):
    settings.FINANCE_EXPORT_INLINE_MAX_ROWS = 2
    settings.MEDIA_ROOT = tmp_path
    user = staff_member(FINANCE)
    client.force_login(user)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get(reverse(EXPORT), {"kind": "payments", "format": "csv"})
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:finance_exportjob_change", args=[job.pk])
    assert (job.status, job.rows_total, job.requested_by) == ("queued", 3, user)
    assert len(callbacks) == 1  # the task is enqueued only once the job row is committed
    page = client.get(response["Location"]).content.decode()
    assert "0 of 3 rows" in page and 'http-equiv="refresh"' in page

    # What the worker runs (called directly here; test_finance_worker runs a real worker).
    with django_capture_on_commit_callbacks(execute=True):
        export_job_run_task(str(job.pk))
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.percent) == ("done", 3, 100)
    message = mail.outbox[-1]
    assert message.to == [user.email]
    found = re.search(r"https?://\S+", str(message.body))
    assert found is not None
    link = found.group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]

    downloaded = client.get("/" + path)
    assert downloaded.status_code == 200
    body = b"".join(downloaded.streaming_content).decode("utf-8-sig")
    assert len(list(csv.DictReader(io.StringIO(body)))) == 3
    channels = sorted(ExportAudit.objects.values_list("channel", flat=True))
    assert channels == ["admin", "worker"]

    # Running the task again changes nothing.
    export_job_run_task(str(job.pk))
    assert ExportAudit.objects.count() == 2

    # Someone without the export permission cannot use the link.
    client.force_login(staff_member(SUPPORT))
    assert client.get("/" + path).status_code == 404

    # A tampered link, then an expired one, are refused.
    client.force_login(user)
    assert client.get("/" + path[:-3] + "abc/").status_code == 410
    ExportJob.objects.filter(pk=job.pk).update(expires_at=dt.datetime(2020, 1, 1, tzinfo=UTC))
    assert client.get("/" + path).status_code == 410
    assert export_files_expire_task() == 1
    job.refresh_from_db()
    assert (job.status, job.file_name) == ("expired", "")
    assert not list(tmp_path.rglob("*.csv"))


@pytest.mark.django_db
def test_payout_reconciliation_pages(client):
    payout = PayoutFactory.create(stripe_payout_id="po_admin", amount_minor=900)
    give(
        paid_at=dt.datetime(2026, 1, 2, tzinfo=UTC), gross=1000, fee=50, stripe_payout_id="po_admin"
    )
    client.force_login(staff_member(FINANCE))
    listing = client.get(reverse("admin:finance_payoutreconciliation_changelist"))
    assert "⚠ -0.50 EUR" in listing.content.decode()
    mismatched = client.get(
        reverse("admin:finance_payoutreconciliation_changelist"), {"reconciled": "no"}
    )
    assert "po_admin" in mismatched.content.decode()
    detail = client.get(
        reverse("admin:finance_payoutreconciliation_change", args=[payout.pk])
    ).content.decode()
    assert "does not match" in detail and "ch_test_" in detail
    client.force_login(staff_member(SUPPORT))
    response = client.get(reverse("admin:finance_payoutreconciliation_changelist"))
    assert response.status_code == 403


@pytest.mark.django_db
def test_payout_reconciliation_page_shows_a_disputes_movements(client):
    payment = give(paid_at=dt.datetime(2026, 1, 2, tzinfo=UTC), gross=2000, fee=80)
    dispute = DisputeFactory.create(
        payment=payment, stripe_dispute_id="dp_admin", amount_minor=2000, status="won"
    )
    DisputeMovementFactory.create(
        dispute=dispute, amount_minor=-2000, fee_minor=1500, stripe_payout_id="po_opened"
    )
    DisputeMovementFactory.create(
        dispute=dispute, amount_minor=2000, fee_minor=0, stripe_payout_id="po_won"
    )
    opened = PayoutFactory.create(stripe_payout_id="po_opened", amount_minor=-3500)
    won = PayoutFactory.create(stripe_payout_id="po_won", amount_minor=2000)
    client.force_login(staff_member(FINANCE))

    listing = client.get(reverse("admin:finance_payoutreconciliation_changelist"))
    assert listing.content.decode().count("✓ matches") == 2
    page = reverse("admin:finance_payoutreconciliation_change", args=[opened.pk])
    detail = client.get(page).content.decode()
    assert "dispute withdrawal" in detail and "dp_admin" in detail and "-35.00 EUR" in detail
    page = reverse("admin:finance_payoutreconciliation_change", args=[won.pk])
    detail = client.get(page).content.decode()
    assert "dispute reinstatement" in detail and "20.00 EUR" in detail and "✓" in detail


def test_export_file_names():
    from finance.filters import ReportFilters

    name = services.export_file_name(
        kind="summary_by_campaign",
        fmt="xlsx",
        filters=ReportFilters(since=dt.date(2026, 1, 1)),
    )
    assert name == "summary-by-campaign-2026-01-01-to-now.xlsx"
