"""Every mail task (and the webhook batch) retries a database blip, soon, instead of failing.

A receipt task that failed on the database's OperationalError used to be dropped and the
receipt waited for the sweep (minutes). Each task here is run eagerly through Celery with its
service failing once: it must be retried and succeed.
"""

import pytest
from django.db import InterfaceError, OperationalError

from payments import receipts, tasks, webhooks
from surveys import tasks as survey_tasks

# (task, module whose function it calls, that function, arguments)
MAIL_TASKS = [
    (tasks.receipts_send, receipts, "receipts_send", ([1],)),
    (tasks.receipt_send, receipts, "receipt_send", (1,)),
    (tasks.payment_failed_notice_send, receipts, "payment_failed_notice_send", (1,)),
    (tasks.receipt_resend, receipts, "receipt_resend_by_id", (1,)),
    (tasks.sign_in_email_send, receipts, "sign_in_email_send", (1, "https://x.example/s")),
    (tasks.webhook_events_apply_pending, webhooks, "webhook_events_apply_pending", ()),
    (tasks.webhook_event_apply, webhooks, "webhook_event_process", (1,)),
    (
        survey_tasks.entry_confirmation_send,
        survey_tasks,
        "entry_confirmation_mail_send",
        (1,),
    ),
    (
        survey_tasks.entry_duplicate_notice_send,
        survey_tasks,
        "entry_duplicate_notice_mail_send",
        (1,),
    ),
    (
        survey_tasks.placement_notification_send,
        survey_tasks,
        "placement_notification_mail_send",
        (1,),
    ),
    (
        survey_tasks.placement_reminder_send,
        survey_tasks,
        "placement_notification_mail_send",
        (1,),
    ),
]


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
@pytest.mark.parametrize(
    ("task", "module", "function", "args"), MAIL_TASKS, ids=[t[0].name for t in MAIL_TASKS]
)
def test_a_transient_database_error_is_retried(task, module, function, args, error, monkeypatch):
    calls = []

    def fails_once(*a, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise error("server closed the connection unexpectedly")
        return 0

    monkeypatch.setattr(module, function, fails_once)

    result = task.apply(args=args)

    assert result.successful(), result.traceback
    assert len(calls) == 2


def test_retries_come_back_within_seconds_not_minutes():
    for task, *_ in MAIL_TASKS:
        assert task.retry_backoff == 1 and task.retry_backoff_max <= 60, task.name
        assert OperationalError in task.autoretry_for and OSError in task.autoretry_for, task.name
