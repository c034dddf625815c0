"""Every mail the service sends, each as a real send: text and branded HTML in one message, with
a link into the site (SITE_URL) that works, and reader input escaped in the HTML.

The mails are enumerated from the templates: every `*/email/<name>.txt` is one kind of mail,
and `CASES` must send each of them (the first test fails when a template has no case). That
the templates are the whole list holds because only `branding.mail` builds a message (the
second test reads the code for any other place that does).
"""

import email.generator
import email.policy
import html
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test.signals import template_rendered
from django.utils import timezone

from branding.brand import brand_get
from finance.filters import ReportFilters
from finance.models import ExportFormat, ExportKind
from finance.services import export_job_create, export_job_run, monthly_report_send
from payments import notices, receipts
from payments.models import Payment, Subscription, SubscriptionPastAmount
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    contribution_make,
)
from surveys.models import DrawPlacement, Entry
from surveys.services import entries
from surveys.tests.factories import draw_create, survey_create
from tests.axe import check_page

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE = '<script>alert("x")</script> Ann'
ESCAPED = "&lt;script&gt;"
TEMPLATES = Path(settings.BASE_DIR) / "templates"


def mail_templates() -> set[str]:
    """Every kind of mail there is: each `*/email/*.txt` template, without its extension."""
    return {
        str(path.relative_to(TEMPLATES).with_suffix("")) for path in TEMPLATES.glob("*/email/*.txt")
    }


# --- How each mail is sent (as the worker sends it), with a reader's hostile name ---------------


def _payment(campaign, *, frequency="one_off", status="succeeded"):
    contribution = contribution_make(campaign, frequency=frequency, amount_minor=1000)
    contribution.name = HOSTILE
    contribution.save()
    contribution.supporter.name = HOSTILE
    contribution.supporter.save()
    now = timezone.now()
    return Payment.objects.create(
        contribution=contribution,
        kind="one_off" if frequency == "one_off" else "subscription_invoice",
        status=status,
        gross_minor=1000,
        currency="EUR",
        paid_at=now if status == "succeeded" else None,
        failed_at=now if status == "failed" else None,
        failure_message="Your card was declined." if status == "failed" else "",
    )


def _subscription(campaign, interval="month"):
    payment = _payment(campaign, frequency="monthly" if interval == "month" else "annual")
    return Subscription.objects.create(
        contribution=payment.contribution,
        stripe_subscription_id=f"sub_{secrets.token_hex(4)}",
        status="active",
        amount_minor=1000,
        currency="EUR",
        interval=interval,
        current_period_end=timezone.now() + timedelta(days=5),
    )


def send_receipt(campaign, client):
    assert receipts.receipt_send(payment_pk=_payment(campaign).pk)


def send_payment_failed(campaign, client):
    payment = _payment(campaign, frequency="monthly", status="failed")
    assert receipts.payment_failed_notice_send(payment_pk=payment.pk)


def send_cancellation(campaign, client):
    subscription = _subscription(campaign)
    Subscription.objects.filter(pk=subscription.pk).update(
        status="canceled", canceled_at=timezone.now(), ended_at=timezone.now()
    )
    assert notices.notice_send(subscription_pk=subscription.pk, kind="cancellation")


def send_amount_change(campaign, client):
    subscription = _subscription(campaign)
    past = SubscriptionPastAmount.objects.create(
        subscription=subscription, amount_minor=500, valid_until=timezone.now()
    )
    assert notices.notice_send(
        subscription_pk=subscription.pk, kind="amount_change", key=str(past.pk)
    )


def send_renewal_reminder(campaign, client):
    subscription = _subscription(campaign, interval="year")
    assert notices.notice_send(subscription_pk=subscription.pk, kind="renewal_reminder", key="1")


def send_sign_in(campaign, client, monkeypatch):
    # The queue stands in for nothing else: the task runs at once, in this process.
    from payments import account_views

    monkeypatch.setattr(account_views, "_sign_in_email_enqueue", receipts.sign_in_email_send)
    _payment(campaign)
    response = client.post("/support/account/", {"email": "reader@example.org"})
    assert response.status_code == 200


def _entry(*, status=Entry.Status.PENDING):
    survey = survey_create(slug=f"s-{secrets.token_hex(3)}")
    draw = draw_create(survey=survey, title=f"{HOSTILE}'s draw")
    return Entry.objects.create(
        draw=draw,
        public_id=secrets.token_hex(8),
        email="entrant@example.org",
        email_normalised="entrant@example.org",
        age_confirmed=True,
        terms=draw.terms.get(),
        status=status,
        confirmed_at=timezone.now() if status == Entry.Status.CONFIRMED else None,
    )


def send_confirm_entry(campaign, client):
    assert entries.entry_confirmation_mail_send(entry_id=_entry().pk)


def send_duplicate_entry(campaign, client):
    entry = _entry(status=Entry.Status.CONFIRMED)
    assert entries.entry_duplicate_notice_mail_send(entry_id=entry.pk)


def send_claim_prize(campaign, client):
    entry = _entry(status=Entry.Status.CONFIRMED)
    placement = DrawPlacement.objects.create(
        draw=entry.draw,
        rank=1,
        entry=entry,
        prize=entry.draw.prizes.first(),
        status=DrawPlacement.Status.NOTIFIED,
        claim_nonce=secrets.token_hex(8),
        notified_at=timezone.now(),
        claim_expires_at=timezone.now() + timedelta(days=14),
    )
    assert entries.placement_notification_mail_send(placement_id=placement.pk)


def _finance_user():
    return User.objects.create_superuser("fin", "fin@example.org", "x-long-pass")


def send_export_ready(campaign, client, django_capture_on_commit_callbacks):
    user = _finance_user()
    filters = ReportFilters()
    with django_capture_on_commit_callbacks(execute=False):
        job = export_job_create(
            user=user,
            kind=ExportKind.PAYMENTS,
            fmt=ExportFormat.CSV,
            filters=filters,
            rows_total=1,
        )
    with django_capture_on_commit_callbacks(execute=True):
        export_job_run(job_id=str(job.pk))
    client.force_login(user)  # the link is for the staff member who asked


def send_monthly_report(campaign, client, settings):
    settings.FINANCE_REPORT_EMAILS = ["finance@example.org"]
    _payment(campaign)
    assert monthly_report_send(month=timezone.localdate().replace(day=1)) is not None
    client.force_login(_finance_user())


CASES: dict[str, Callable[..., None]] = {
    "payments/email/receipt": send_receipt,
    "payments/email/payment_failed": send_payment_failed,
    "payments/email/cancellation": send_cancellation,
    "payments/email/amount_change": send_amount_change,
    "payments/email/renewal_reminder": send_renewal_reminder,
    "payments/email/sign_in": send_sign_in,
    "surveys/email/confirm_entry": send_confirm_entry,
    "surveys/email/duplicate_entry": send_duplicate_entry,
    "surveys/email/claim_prize": send_claim_prize,
    "finance/email/export_ready": send_export_ready,
    "finance/email/monthly_report": send_monthly_report,
}
# The mails that show what a reader typed (their name, here hostile) or a draw's title.
SHOWS_READER_INPUT = {
    "payments/email/receipt",
    "payments/email/payment_failed",
    "payments/email/cancellation",
    "payments/email/amount_change",
    "payments/email/renewal_reminder",
    "surveys/email/confirm_entry",
    "surveys/email/duplicate_entry",
    "surveys/email/claim_prize",
}


def test_every_mail_template_has_a_case():
    assert set(CASES) == mail_templates()


MAIL_BUILDERS = re.compile(
    r"\b(send_mail|send_mass_mail|mail_admins|mail_managers)\(|\b(EmailMessage|EmailMultiAlternatives)\("
)


def test_only_the_shared_path_builds_a_message():
    root = Path(settings.BASE_DIR)
    others = []
    for path in root.rglob("*.py"):
        relative = path.relative_to(root)
        if (
            relative.parts[0] in {".venv", "node_modules", "tests", "var"}
            or "tests" in relative.parts
        ):
            continue
        if relative.parts[0] == "stripe_emulator" or str(relative) == "branding/mail.py":
            continue
        if MAIL_BUILDERS.search(path.read_text()):
            others.append(str(relative))
    assert others == []


def mail_of(template, campaign, client, **fixtures):
    """Send the mail `template` names through its case; return it (the only mail sent)."""
    rendered: list[str] = []

    def remember(sender, template, context, **kwargs):
        rendered.append(template.name)

    template_rendered.connect(remember)
    try:
        case = CASES[template]
        wanted = case.__code__.co_varnames[2 : case.__code__.co_argcount]
        case(campaign, client, **{name: fixtures[name] for name in wanted})
    finally:
        template_rendered.disconnect(remember)
    assert f"{template}.txt" in rendered and f"{template}.html" in rendered
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    return mail.outbox[0]


@pytest.fixture
def send(campaign, client, monkeypatch, settings, django_capture_on_commit_callbacks):
    """Send one kind of mail (named by its template) and return it."""
    fixtures = {
        "monkeypatch": monkeypatch,
        "settings": settings,
        "django_capture_on_commit_callbacks": django_capture_on_commit_callbacks,
    }
    return lambda template: mail_of(template, campaign, client, **fixtures)


@pytest.mark.parametrize("template", sorted(CASES))
def test_the_mail_is_text_and_branded_html_with_working_links_and_escaped_input(
    template, send, client, settings
):
    settings.SITE_URL = "https://support.example.org"  # not the host the request came to
    message = send(template)

    assert isinstance(message, EmailMultiAlternatives)
    assert message.content_subtype == "plain" and message.body.strip()
    assert [kind for _, kind in message.alternatives] == ["text/html"]
    page = str(message.alternatives[0][0])
    brand = brand_get()
    assert brand.logo_absolute_url in page and brand.accent in page and brand.name in page

    links = [html.unescape(href) for href in re.findall(r'href="([^"]+)"', page)]
    assert links, "no link into the site"
    for link in links:
        assert link.startswith(settings.SITE_URL + "/"), link
        assert link in message.body, f"{link} is not in the text part"
        parts = urlsplit(link)
        answer = client.get(
            f"{parts.path}?{parts.query}" if parts.query else parts.path, follow=True
        )
        assert answer.status_code == 200, (link, answer.status_code)

    assert "<script" not in page.lower()
    if template in SHOWS_READER_INPUT:
        assert ESCAPED in page
        assert HOSTILE in message.body or "<script>" in message.body  # plain text, as typed


@pytest.mark.parametrize("template", sorted(CASES))
def test_the_mail_reads_back_as_it_was_written(template, send, monkeypatch):
    message = send(template)

    # Boundaries are drawn when the message is built, not by the generator (which compiles a
    # regular expression per mail to check its own): see branding.mail.BrandedMail.
    def drawn_again(*args):
        raise AssertionError("the generator drew a boundary")

    monkeypatch.setattr(email.generator.Generator, "_make_boundary", drawn_again)
    wire = message.message().as_bytes(linesep="\r\n")  # as SMTP sends it
    read = email.message_from_bytes(wire, policy=email.policy.default)

    assert read["Subject"].strip() == message.subject and read["To"] == message.to[0]

    def lines(text):  # lines end in CRLF on the wire
        return text.replace("\r\n", "\n").strip()

    plain, html_part = read.get_body(("plain",)), read.get_body(("html",))
    assert plain is not None and html_part is not None
    assert lines(plain.get_content()) == lines(message.body)
    assert lines(html_part.get_content()) == lines(str(message.alternatives[0][0]))


@pytest.mark.browser
@pytest.mark.parametrize("template", sorted(CASES))
def test_the_html_mail_in_a_browser(template, send, settings, page, live_server):
    settings.SITE_URL = live_server.url  # the logo loads from the running site
    message = send(template)
    page.goto(f"{live_server.url}/healthz")  # an origin for the page, so the logo may load
    page.set_content(str(message.alternatives[0][0]), wait_until="load")
    assert page.locator("img").first.evaluate("img => img.naturalWidth") > 0, "logo not loaded"
    check_page(page, "mail-" + template.rsplit("/", 1)[1].replace("_", "-"))
