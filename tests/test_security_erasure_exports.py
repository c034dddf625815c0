"""Finance export files name supporters (the payments export has each one's name and address):
erasing a person on request retires every such file, including one being written at that
moment, so no download link still leads to their address. Summary exports name nobody and stay."""

import datetime as dt
import io
import json

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from finance.filters import ReportFilters
from finance.models import ExportFormat, ExportJob, ExportKind
from finance.services import export_job_run, export_link_job, export_link_token
from tests.finance_factories import SupporterFactory, give

pytestmark = pytest.mark.django_db

EMAIL = "grace.reader@example.org"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def ledger():
    paid_at = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    give(
        supporter=SupporterFactory.create(email=EMAIL, name="Grace"),
        paid_at=paid_at,
        gross=900,
        fee=30,
    )


def job_done(admin_user, kind):
    job = ExportJob.objects.create(
        requested_by=admin_user,
        kind=kind,
        format=ExportFormat.CSV,
        filters=ReportFilters().as_json(),
    )
    export_job_run(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE
    return job


def erase(email):
    call_command("personal_data", "erase", email, stdout=io.StringIO(), stderr=io.StringIO())


def export(email):
    out = io.StringIO()
    call_command("personal_data", "export", email, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def test_erasure_retires_the_payments_export_files_that_hold_the_address(
    admin_user, ledger, django_capture_on_commit_callbacks
):
    payments = job_done(admin_user, ExportKind.PAYMENTS)
    summary = job_done(admin_user, ExportKind.SUMMARY)
    file_name = payments.file_name
    with default_storage.open(file_name) as handle:
        assert EMAIL in handle.read().decode("utf-8-sig")
    assert export(EMAIL)["finance"]["export_files"]  # the export says where the address may be

    with django_capture_on_commit_callbacks(execute=True):
        erase(EMAIL)

    payments.refresh_from_db()
    assert payments.status == ExportJob.Status.EXPIRED and payments.file_name == ""
    assert not default_storage.exists(file_name)
    assert export_link_job(token=export_link_token(job=payments)) is None
    summary.refresh_from_db()  # a summary names nobody: it stays
    assert summary.status == ExportJob.Status.DONE and default_storage.exists(summary.file_name)
    assert export(EMAIL)["finance"] == {"export_files": []}


def test_an_export_being_written_during_erasure_is_written_again_without_the_address(
    admin_user, ledger, django_capture_on_commit_callbacks, monkeypatch
):
    """The worker read the ledger before the erasure committed: its file must not be published.
    The job is written again from the erased ledger instead."""
    job = ExportJob.objects.create(
        requested_by=admin_user,
        kind=ExportKind.PAYMENTS,
        format=ExportFormat.CSV,
        filters=ReportFilters().as_json(),
    )
    import finance.services as services

    write = services.export_file_write
    rerun: list[bool] = []

    def write_then_erase(**kwargs):
        rows = write(**kwargs)  # the file now holds the address
        if not rerun:
            rerun.append(True)
            with django_capture_on_commit_callbacks(execute=False) as queued:
                erase(EMAIL)
            assert queued, "the erasure queues the job to be written again"
        return rows

    monkeypatch.setattr(services, "export_file_write", write_then_erase)
    export_job_run(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == ExportJob.Status.QUEUED and job.file_name == ""
    assert not default_storage.listdir("finance-exports")[1], "the stale file was not published"

    export_job_run(job_id=str(job.pk))  # the rerun the erasure queued
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE
    with default_storage.open(job.file_name) as handle:
        assert EMAIL not in handle.read().decode("utf-8-sig")
