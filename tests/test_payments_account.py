"""Self-service: the e-mailed sign-in link, and what a signed-in supporter can do."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from payments import receipts
from payments.demo_provider.gateway import DemoGateway
from payments.models import Contribution, Payment, ReceiptSend, SignInLink, Subscription, Supporter
from payments.services import sign_in_link_create
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    contribution_make,
    demo_give,
    events_apply,
)

pytestmark = pytest.mark.django_db


def link_for(email):
    created = sign_in_link_create(email=email)
    assert created is not None
    return created[1]


def signed_in(client, supporter):
    token = link_for(supporter.email)
    client.post(f"/support/account/sign-in/{token}/")
    return client


def test_asking_for_a_link_answers_the_same_for_known_and_unknown_addresses(client, campaign):
    contribution_make(campaign)

    known = client.post("/support/account/", {"email": "READER@example.org"})
    unknown = client.post("/support/account/", {"email": "stranger@example.org"})

    assert known.status_code == unknown.status_code == 200
    assert known.context["sent"] and unknown.context["sent"]
    assert SignInLink.objects.count() == 1
    assert "If this address has given before" in unknown.content.decode()


def test_the_link_shows_a_button_and_only_the_button_signs_in_once(client, campaign):
    contribution = contribution_make(campaign)
    contribution.status = Contribution.Status.PAID
    contribution.save()
    from payments.receipts import sign_in_email_send

    token = link_for("reader@example.org")
    sign_in_email_send(
        supporter_pk=contribution.supporter.pk,
        url=f"http://testserver/support/account/sign-in/{token}/",
    )
    found = re.search(r"http://testserver(\S+)", str(mail.outbox[0].body))
    assert found is not None
    url = found.group(1)

    for _ in range(3):  # mail scanners open links; that must not use them up
        page = client.get(url)
        assert page.status_code == 200
        assert '<form method="post">' in page.content.decode()
    assert client.get("/support/account/").context.get("supporter") is None

    response = client.post(url)
    assert response.status_code == 302
    account = client.get("/support/account/")
    assert account.context["supporter"] == contribution.supporter
    assert "€10.00 one-off" in account.content.decode()

    client.post("/support/account/sign-out/")
    assert client.post(url).status_code == 410  # used up
    assert client.get(url).status_code == 410


def test_an_expired_link_does_not_sign_in(client, campaign):
    contribution_make(campaign)
    token = link_for("reader@example.org")
    SignInLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.post(f"/support/account/sign-in/{token}/")

    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_an_invalid_email_is_explained(client):
    response = client.post("/support/account/", {"email": "nope"})

    assert response.status_code == 400
    assert "does not look like an e-mail address" in response.content.decode()


def demo_monthly(campaign, client, django_capture_on_commit_callbacks):
    """A monthly contribution paid through the demo provider, with its events applied."""
    with django_capture_on_commit_callbacks(execute=True):
        contribution = demo_give(client, frequency="monthly", amount="500")
    events_apply()
    contribution.refresh_from_db()
    return contribution


def test_a_supporter_changes_the_monthly_amount_and_then_cancels_with_a_reason(
    client, campaign, django_capture_on_commit_callbacks
):
    contribution = demo_monthly(campaign, client, django_capture_on_commit_callbacks)
    assert contribution.status == Contribution.Status.ACTIVE
    signed_in(client, contribution.supporter)

    bad = client.post(
        f"/support/account/contributions/{contribution.pk}/amount/", {"amount": "0.10"}
    )
    assert bad.status_code == 400
    assert "between €1.00 and €5,000.00" in bad.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/support/account/contributions/{contribution.pk}/amount/", {"amount": "8"})
    subscription = Subscription.objects.get()
    assert subscription.amount_minor == 800
    # The amount it replaced is kept for the months before the change (finance's MRR).
    replaced = subscription.past_amounts.get()
    assert (replaced.amount_minor, replaced.valid_from) == (500, None)
    assert replaced.valid_until == subscription.stripe_state_at
    assert (
        DemoGateway()
        .subscription_retrieve(subscription_id=subscription.stripe_subscription_id)
        .amount_minor
        == 800
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/support/account/contributions/{contribution.pk}/cancel/", {"reason": "Moving abroad"}
        )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == "canceled"
    assert subscription.cancel_reason == "Moving abroad"
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.CANCELED


def test_a_supporter_cannot_touch_someone_elses_contribution(
    client, campaign, django_capture_on_commit_callbacks
):
    contribution = demo_monthly(campaign, client, django_capture_on_commit_callbacks)
    stranger = Supporter.objects.create(email="stranger@example.org")
    signed_in(client, stranger)

    response = client.post(
        f"/support/account/contributions/{contribution.pk}/cancel/", {"reason": "x"}
    )

    assert response.status_code == 404
    assert Subscription.objects.get().status == "active"


def test_resend_receipt_and_billing_portal(client, campaign, django_capture_on_commit_callbacks):
    contribution = demo_monthly(campaign, client, django_capture_on_commit_callbacks)
    payment = Payment.objects.get()
    signed_in(client, contribution.supporter)

    receipts.receipt_resend_by_id(payment_pk=payment.pk)  # what the enqueued task runs
    response = client.post(f"/support/account/payments/{payment.pk}/receipt/")
    assert response.status_code == 302
    assert ReceiptSend.objects.filter(payment=payment, kind="resend").count() == 1
    assert "(copy)" in mail.outbox[-1].subject

    portal = client.post("/support/account/portal/")
    assert portal.status_code == 302
    assert portal["Location"].startswith("/support/demo-portal/")


def test_signed_out_readers_are_sent_to_the_sign_in_form(client, campaign):
    contribution = contribution_make(campaign)

    response = client.post(f"/support/account/contributions/{contribution.pk}/cancel/")

    assert response.status_code == 302
    assert response["Location"] == "/support/account/"


def test_the_account_page_does_not_query_per_contribution(
    client, campaign, django_assert_max_num_queries
):
    supporter = None
    for i in range(6):
        contribution = contribution_make(campaign, amount_minor=1000 + i)
        contribution.status = Contribution.Status.PAID
        contribution.save()
        Payment.objects.create(
            contribution=contribution,
            kind="one_off",
            status="succeeded",
            gross_minor=contribution.amount_minor,
            currency="EUR",
            paid_at=timezone.now(),
        )
        supporter = contribution.supporter
    signed_in(client, supporter)

    with django_assert_max_num_queries(8):
        page = client.get("/support/account/")

    assert page.content.decode().count("Resend receipt") == 6


def test_the_amount_page_names_the_frequency_and_ties_its_error_to_the_field(client, campaign):
    contribution = contribution_make(campaign, frequency="annual", amount_minor=6000)
    Contribution.objects.filter(pk=contribution.pk).update(status=Contribution.Status.ACTIVE)
    Subscription.objects.create(
        contribution=contribution,
        stripe_subscription_id="sub_annual_amount",
        status="active",
        amount_minor=6000,
        currency="EUR",
        interval="year",
    )
    signed_in(client, contribution.supporter)
    url = f"/support/account/contributions/{contribution.pk}/amount/"

    shown = client.get(url).content.decode()
    refused = client.post(url, {"amount": ""})

    assert "New annual amount (EUR)" in shown and "monthly" not in shown  # it said "monthly"
    assert "Now €60.00." in shown
    assert refused.status_code == 400
    found = re.search(r'<input[^>]*name="amount"[^>]*>', refused.content.decode())
    assert found is not None
    field = found.group(0)
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="err-amount amount-help"' in field
    assert 'id="err-amount">Please enter the new amount.<' in refused.content.decode()
