"""What the finance and support roles may do with the contributions ledger in the admin."""

import pytest

from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    demo_give,
    events_apply,
)
from staff.roles import EDITORIAL, FINANCE, SUPPORT
from staff.tests.helpers import staff_member


@pytest.mark.django_db
def test_finance_reads_every_payments_model_and_may_refund_and_export():
    user = staff_member(FINANCE)

    for model in (
        "supporter",
        "contribution",
        "subscription",
        "payment",
        "refund",
        "dispute",
        "disputemovement",
        "payout",
        "webhookevent",
        "receiptsend",
    ):
        assert user.has_perm(f"payments.view_{model}"), model
        assert not user.has_perm(f"payments.change_{model}"), model
        assert not user.has_perm(f"payments.delete_{model}"), model
    assert user.has_perm("payments.refund_payment")
    assert user.has_perm("payments.export_payments")
    assert user.has_perm("payments.resend_receipt")


@pytest.mark.django_db
def test_support_looks_up_cancels_and_resends_but_cannot_refund_or_export():
    user = staff_member(SUPPORT)

    assert user.has_perm("payments.view_supporter")
    assert user.has_perm("payments.view_contribution")
    assert user.has_perm("payments.view_payment")
    assert user.has_perm("payments.change_subscription")
    assert user.has_perm("payments.resend_receipt")
    assert not user.has_perm("payments.refund_payment")
    assert not user.has_perm("payments.export_payments")
    assert not user.has_perm("payments.view_payout")
    assert not user.has_perm("payments.view_webhookevent")
    assert not user.has_perm("payments.change_payment")


@pytest.mark.django_db
def test_editorial_has_no_access_to_money():
    user = staff_member(EDITORIAL)

    assert not any(perm.startswith("payments.") for perm in user.get_all_permissions())


# --- The admin, per role -------------------------------------------------------------------------


@pytest.fixture
def paid_monthly(client, campaign, django_capture_on_commit_callbacks):
    """A monthly contribution paid through the demo provider, its events applied."""
    with django_capture_on_commit_callbacks(execute=True):
        contribution = demo_give(client, frequency="monthly", amount="500")
    events_apply()
    client.logout()
    return contribution


def action(client, model, name, pk):
    return client.post(
        f"/admin/payments/{model}/", {"action": name, "_selected_action": [pk]}, follow=True
    )


@pytest.mark.django_db
def test_support_finds_a_supporter_and_sees_the_contribution_history(client, paid_monthly):
    client.force_login(staff_member(SUPPORT))

    found = client.get("/admin/payments/supporter/?q=READER@example")
    assert found.status_code == 200
    assert "reader@example.org" in found.content.decode()
    history = client.get(f"/admin/payments/contribution/{paid_monthly.pk}/change/")
    assert history.status_code == 200
    html = history.content.decode()
    assert "Started" in html
    assert "Subscription sub_demo_" in html
    assert "€5.00 Succeeded" in html
    assert client.get("/admin/payments/payout/").status_code == 403


@pytest.mark.django_db
def test_the_contribution_history_shows_each_change_of_amount(client, paid_monthly):
    from payments.models import Subscription
    from payments.services import subscription_amount_change

    subscription = Subscription.objects.get()
    subscription_amount_change(subscription=subscription, amount_minor=1000)
    subscription_amount_change(subscription=Subscription.objects.get(), amount_minor=750)
    client.force_login(staff_member(SUPPORT))

    html = client.get(f"/admin/payments/contribution/{paid_monthly.pk}/change/").content.decode()

    first = html.index("Amount changed from €5.00 to €10.00")
    assert html.index("Amount changed from €10.00 to €7.50") > first


@pytest.mark.django_db
def test_support_cancels_a_subscription_and_resends_but_cannot_refund(
    client, paid_monthly, django_capture_on_commit_callbacks
):
    from payments.models import Payment, Subscription

    client.force_login(staff_member(SUPPORT))
    payment = Payment.objects.get()
    payments_page = client.get("/admin/payments/payment/").content.decode()
    assert "resend_receipts" in payments_page
    assert "refund_in_full" not in payments_page
    refused = action(client, "payment", "refund_in_full", payment.pk)
    assert "No action selected" in refused.content.decode()
    payment.refresh_from_db()
    assert payment.refunded_minor == 0

    subscription = Subscription.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        action(client, "subscription", "cancel_subscriptions", subscription.pk)
    subscription.refresh_from_db()
    assert subscription.status == "canceled"
    assert subscription.cancel_reason.startswith("Cancelled by staff")


@pytest.mark.django_db
def test_finance_refunds_a_payment_through_the_provider(
    client, paid_monthly, django_capture_on_commit_callbacks
):
    from payments.models import Payment, Refund

    user = staff_member(FINANCE)
    client.force_login(user)
    payment = Payment.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        done = action(client, "payment", "refund_in_full", payment.pk)

    assert "1 payment(s) refunded." in done.content.decode()
    refund = Refund.objects.get()
    assert (refund.amount_minor, refund.requested_by) == (500, user)
    payment.refresh_from_db()
    assert payment.refunded_minor == 500
    again = action(client, "payment", "refund_in_full", payment.pk)
    assert "refunded in full already" in again.content.decode()
    assert Refund.objects.count() == 1
    # Finance reads but never edits money rows.
    assert client.get(f"/admin/payments/payment/{payment.pk}/change/").status_code == 200
    assert client.get("/admin/payments/payment/add/").status_code == 403
