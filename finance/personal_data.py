"""Finance export files that may name a person, for `manage.py personal_data`.

The payments export lists each supporter's name and address. Finding one address inside a
finished CSV or XLSX is not worth the risk of missing it, so erasing anyone retires every such
file: a finished one is deleted (staff export again from the erased ledger), and one being
written is written again, because its worker may have read the ledger before the erasure
committed. Summary exports name nobody and are left alone. The ledger's own rows are anonymised by
the payments app.
"""

from __future__ import annotations

import functools
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction

from finance.models import ExportJob, ExportKind

PERSONAL_KINDS = (ExportKind.PAYMENTS,)
UNFINISHED = (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING)


def _jobs_naming_people() -> Any:
    return ExportJob.objects.filter(
        kind__in=PERSONAL_KINDS, status__in=(ExportJob.Status.DONE, *UNFINISHED)
    )


def personal_data_export(*, email: str) -> dict[str, Any]:
    """List the export files that may hold this address (every payments export still kept)."""
    return {
        "export_files": [
            {
                "export": str(job),
                "status": job.status,
                "created_at": job.created_at.isoformat(),
                "deleted_by": job.expires_at.isoformat() if job.expires_at else None,
            }
            for job in _jobs_naming_people().order_by("created_at")
        ]
    }


def personal_data_erase(*, email: str) -> dict[str, int]:
    """Retire every export file that may hold the address; return how many were deleted and
    how many are being written again."""
    from finance.tasks import export_job_run_task

    deleted = rewritten = 0
    for job in _jobs_naming_people().select_for_update():
        if job.status == ExportJob.Status.DONE:
            file_name = job.file_name
            ExportJob.objects.filter(pk=job.pk).update(
                status=ExportJob.Status.EXPIRED, file_name=""
            )
            if file_name:
                transaction.on_commit(functools.partial(default_storage.delete, file_name))
            deleted += 1
        else:
            # The running worker sees `started_at` change and drops its file (export_job_run).
            ExportJob.objects.filter(pk=job.pk).update(
                status=ExportJob.Status.QUEUED, started_at=None, rows_done=0
            )
            transaction.on_commit(functools.partial(export_job_run_task.delay, str(job.pk)))
            rewritten += 1
    return {"export_files_deleted": deleted, "export_files_written_again": rewritten}
