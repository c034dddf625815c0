"""The monthly report e-mail: contents, attachments, once per month, and its beat entry."""

import csv
import datetime as dt
import io

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from finance.models import ExportAudit, MonthlyReportSend
from finance.services import REPORT_LEASE, monthly_report_send, previous_month
from finance.tasks import monthly_report_send_task
from tests.finance_factories import RefundFactory, give

UTC = dt.UTC


@pytest.fixture
def january(settings):
    settings.FINANCE_REPORT_EMAILS = ["finance@example.com", "accounts@example.com"]
    settings.PUBLISHER_TIME_ZONE = "Europe/London"
    first = give(paid_at=dt.datetime(2026, 1, 3, 9, tzinfo=UTC), gross=1000, fee=50)
    give(paid_at=dt.datetime(2026, 1, 30, 9, tzinfo=UTC), gross=2000, fee=70, currency="GBP")
    give(paid_at=dt.datetime(2026, 2, 1, 9, tzinfo=UTC), gross=9999, fee=99)  # not January
    RefundFactory.create(payment=first, refunded_at=dt.datetime(2026, 1, 20, tzinfo=UTC))


def attachment_rows(message, name: str) -> list[dict]:
    for filename, content, mimetype in message.attachments:
        if filename == name:
            assert mimetype == "text/csv"
            text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
            return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    raise AssertionError(f"no attachment {name}")


@pytest.mark.django_db
def test_monthly_report_is_sent_once_with_both_attachments(january):
    monthly_report_send_task("2026-01-01")

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["finance@example.com", "accounts@example.com"]
    assert message.subject == "Contributions report for January 2026"
    assert "EUR: gross 10.00 EUR, Stripe fees 0.50 EUR, net 9.50 EUR, refunds 10.00 EUR" in (
        message.body
    )
    assert "GBP: gross 20.00 GBP" in message.body
    summary = attachment_rows(message, "summary-2026-01.csv")
    assert [(r["month"], r["currency"], r["gross"]) for r in summary] == [
        ("2026-01", "EUR", "10.00"),
        ("2026-01", "GBP", "20.00"),
    ]
    payments = attachment_rows(message, "payments-2026-01.csv")
    assert sorted(r["gross"] for r in payments) == ["10.00", "20.00"]

    sent = MonthlyReportSend.objects.get()
    assert (sent.month, sent.payment_rows) == (dt.date(2026, 1, 1), 2)
    assert sent.sent_at is not None
    assert sorted(ExportAudit.objects.values_list("channel", "kind", "row_count")) == [
        ("monthly_email", "payments", 2),
        ("monthly_email", "summary", 2),
    ]

    # Beat may fire twice, a worker may redeliver: nothing more goes out.
    monthly_report_send_task("2026-01-01")
    assert monthly_report_send(month=dt.date(2026, 1, 15)) is None
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_send_in_progress_is_left_alone_and_a_stale_claim_is_retried(january):
    claim = MonthlyReportSend.objects.create(
        month=dt.date(2026, 1, 1), recipients="x", claimed_at=timezone.now()
    )
    assert monthly_report_send(month=dt.date(2026, 1, 1)) is None
    assert mail.outbox == []

    MonthlyReportSend.objects.filter(pk=claim.pk).update(
        claimed_at=timezone.now() - REPORT_LEASE - dt.timedelta(minutes=1)
    )
    assert monthly_report_send(month=dt.date(2026, 1, 1)) is not None
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_no_addresses_means_no_report(settings, january):
    settings.FINANCE_REPORT_EMAILS = []
    monthly_report_send_task("2026-01-01")
    assert mail.outbox == []
    assert not MonthlyReportSend.objects.exists()


def test_the_report_is_for_the_month_that_just_ended():
    assert previous_month(dt.date(2026, 3, 1)) == dt.date(2026, 2, 1)
    assert previous_month(dt.date(2026, 1, 1)) == dt.date(2025, 12, 1)
    entry = django_settings.CELERY_BEAT_SCHEDULE["finance-monthly-report"]
    assert entry["task"] == "finance.tasks.monthly_report_send_task"
    assert entry["schedule"] == crontab(minute=0, hour=6, day_of_month=1)
