"""A large admin export runs in a real worker process and ends as a finished job."""

import datetime as dt

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse

from finance.models import ExportAudit, ExportJob
from staff.roles import FINANCE
from tests.conftest import wait_for
from tests.finance_factories import give


def test_admin_export_job_is_run_by_a_worker(celery_worker_process, client, settings):
    settings.FINANCE_EXPORT_INLINE_MAX_ROWS = 1
    for day in (1, 2, 3):
        give(paid_at=dt.datetime(2026, 1, day, tzinfo=dt.UTC), gross=1000 * day, fee=10)
    call_command("roles_sync")  # an earlier transactional test may have flushed the groups
    user = User.objects.create_user(username="fin", password="x", is_staff=True, email="f@x.org")
    user.groups.add(Group.objects.get(name=FINANCE))
    client.force_login(user)

    response = client.get(reverse("admin:finance_export"), {"kind": "payments", "format": "xlsx"})
    assert response.status_code == 302
    job = ExportJob.objects.get()

    def finished():
        job.refresh_from_db()
        return job.status in (ExportJob.Status.DONE, ExportJob.Status.FAILED)

    wait_for(finished, timeout=60, what="the worker to finish the export job")
    assert (job.status, job.rows_done, job.error) == ("done", 3, "")
    assert ExportAudit.objects.get().channel == "worker"
    page = client.get(reverse("admin:finance_exportjob_change", args=[job.pk])).content.decode()
    assert "Download" in page and 'http-equiv="refresh"' not in page
