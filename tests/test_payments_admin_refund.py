"""Partial refunds in the admin: the form, its confirmation, who may use it, and what it records."""

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command

from payments.admin_forms import PartialRefundForm
from payments.demo_provider.gateway import DemoGateway
from payments.demo_provider.store import demo_object_load
from payments.models import Payment, Refund, WebhookEvent
from payments.money import MINOR_UNIT_DIGITS
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import (  # noqa: F401
    campaign_fixture,
    contribution_make,
    demo_give,
    events_apply,
)
from staff.roles import EDITORIAL, FINANCE, SUPPORT
from staff.tests.helpers import staff_member
from stripe_emulator.flows import disputes

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(client, campaign, django_capture_on_commit_callbacks) -> Payment:
    """A one-off €25.00 paid through the demo provider, its events applied."""
    with django_capture_on_commit_callbacks(execute=True):
        demo_give(client, frequency="one_off", amount="2500")
    events_apply()
    client.logout()
    return Payment.objects.get()


def refund_url(payment: Payment) -> str:
    return f"/admin/payments/payment/{payment.pk}/refund/"


def change_url(payment: Payment) -> str:
    return f"/admin/payments/payment/{payment.pk}/change/"


def shown_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def refund(client, payment, amount, reason="requested_by_customer", note="", *, capture):
    """Fill in the form, then confirm what the confirmation page showed."""
    data = {"amount": amount, "reason": reason, "note": note}
    review = client.post(refund_url(payment), data)
    assert review.status_code == 200
    assert review.context["confirming"], review.context["form"].errors
    with capture(execute=True):
        return client.post(refund_url(payment), {**data, "confirmed": "yes"}, follow=True)


def test_finance_finds_the_refund_page_from_the_payment_and_the_list(client, paid):
    client.force_login(staff_member(FINANCE))

    change = client.get(change_url(paid)).content.decode()
    assert f'href="{refund_url(paid)}"' in change
    assert "Refund part of this payment" in change
    assert "refund_part" in client.get("/admin/payments/payment/").content.decode()

    page = client.get(refund_url(paid))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>€25.00</strong> paid, €0.00 refunded so far" in html
    assert "Amount to refund (EUR)" in html
    assert "At most €25.00 is left to refund." in html
    for reason in ("requested_by_customer", "duplicate", "fraudulent"):
        assert f'value="{reason}"' in html


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "Enter the amount to refund."),
        ("twelve", "Enter the amount as a number in EUR, like 12.50."),
        ("1e3", "Enter the amount as a number in EUR, like 12.50."),
        ("1,250.00", "Enter the amount as a number in EUR, like 12.50."),
        ("12.505", "EUR amounts have at most 2 decimal places."),
        ("0", "The amount to refund must be more than zero."),
        ("0.00", "The amount to refund must be more than zero."),
        ("-5", "Enter the amount as a number in EUR, like 12.50."),
        (
            "25.01",
            "At most €25.00 can be refunded: €25.00 was paid and €0.00 has been refunded already.",
        ),
    ],
)
def test_a_wrong_amount_is_explained_and_nothing_is_refunded(client, paid, amount, message):
    client.force_login(staff_member(FINANCE))

    # Even a forged confirmation is validated again.
    response = client.post(
        refund_url(paid), {"amount": amount, "reason": "duplicate", "confirmed": "yes"}
    )

    assert response.status_code == 200
    assert not response.context["confirming"]
    assert message in response.content.decode()
    assert not Refund.objects.exists()
    assert demo_object_load(paid.stripe_charge_id)["amount_refunded"] == 0


def test_an_unknown_reason_is_explained(client, paid):
    client.force_login(staff_member(FINANCE))

    response = client.post(refund_url(paid), {"amount": "5", "reason": "changed_my_mind"})

    assert "Choose one of the reasons listed." in response.content.decode()


def test_the_confirmation_shows_the_amount_in_money_before_anything_is_refunded(client, paid):
    client.force_login(staff_member(FINANCE))

    review = client.post(refund_url(paid), {"amount": "12.5", "reason": "duplicate"})

    html = review.content.decode()
    assert "Refund <strong>€12.50</strong> of €25.00 to the supporter (Duplicate payment)?" in html
    assert 'value="Yes, refund €12.50"' in html
    assert not Refund.objects.exists()
    back = client.post(
        refund_url(paid), {"amount": "12.5", "reason": "duplicate", "change": "Change"}
    )
    assert not back.context["confirming"]
    assert 'value="12.5"' in back.content.decode()
    assert not Refund.objects.exists()


def test_two_partial_refunds_add_up_in_the_ledger_and_at_the_provider(
    client, paid, django_capture_on_commit_callbacks
):
    user = staff_member(FINANCE)
    client.force_login(user)

    first = refund(client, paid, "12.50", "duplicate", capture=django_capture_on_commit_callbacks)

    assert first.redirect_chain == [(change_url(paid), 302)]
    assert f"€12.50 of payment {paid.pk} refunded." in shown_messages(first)
    events_apply()  # the provider's charge.refunded reports the same refund
    paid.refresh_from_db()
    assert paid.refunded_minor == 1250
    only = Refund.objects.get()
    assert (only.amount_minor, only.currency, only.reason, only.requested_by) == (
        1250,
        "EUR",
        "duplicate",
        user,
    )

    second = refund(client, paid, "10", capture=django_capture_on_commit_callbacks)

    assert f"€10.00 of payment {paid.pk} refunded." in shown_messages(second)
    events_apply()
    paid.refresh_from_db()
    assert paid.refunded_minor == 2250
    assert sorted(Refund.objects.values_list("amount_minor", "reason")) == [
        (1000, "requested_by_customer"),
        (1250, "duplicate"),
    ]
    assert set(Refund.objects.values_list("requested_by", flat=True)) == {user.pk}
    assert demo_object_load(paid.stripe_charge_id)["amount_refunded"] == 2250
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert "€2.50</strong> left to refund" in client.get(refund_url(paid)).content.decode()

    too_much = client.post(refund_url(paid), {"amount": "2.51", "reason": "duplicate"})
    assert (
        "At most €2.50 can be refunded: €25.00 was paid and €22.50 has been refunded already."
        in too_much.content.decode()
    )

    refund(client, paid, "2.50", capture=django_capture_on_commit_callbacks)
    paid.refresh_from_db()
    assert paid.refunded_minor == 2500
    assert "Refund part of this payment" not in client.get(change_url(paid)).content.decode()
    done = client.get(refund_url(paid), follow=True)
    assert done.redirect_chain == [(change_url(paid), 302)]
    assert f"Payment {paid.pk} has been refunded in full already." in shown_messages(done)


@pytest.mark.parametrize("role", [SUPPORT, EDITORIAL])
def test_roles_without_the_refund_permission_neither_see_nor_post_it(
    client, paid, role, django_capture_on_commit_callbacks
):
    client.force_login(staff_member(role))

    if role == SUPPORT:  # support reads payments, but has no refund button or action
        assert "Refund part" not in client.get(change_url(paid)).content.decode()
        assert "refund_part" not in client.get("/admin/payments/payment/").content.decode()
    assert client.get(refund_url(paid)).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        forged = client.post(
            refund_url(paid), {"amount": "5", "reason": "duplicate", "confirmed": "yes"}
        )
    assert forged.status_code == 403
    assert not Refund.objects.exists()
    assert demo_object_load(paid.stripe_charge_id)["amount_refunded"] == 0


def test_the_action_opens_the_refund_page_for_exactly_one_payment(client, paid, campaign):
    other = Payment.objects.create(
        contribution=contribution_make(campaign, email="other@example.org"),
        kind=Payment.Kind.ONE_OFF,
        status=Payment.Status.SUCCEEDED,
        gross_minor=1000,
        currency="EUR",
        stripe_payment_intent_id="pi_other",
    )
    client.force_login(staff_member(FINANCE))

    one = client.post(
        "/admin/payments/payment/", {"action": "refund_part", "_selected_action": [paid.pk]}
    )
    two = client.post(
        "/admin/payments/payment/",
        {"action": "refund_part", "_selected_action": [paid.pk, other.pk]},
        follow=True,
    )

    assert (one.status_code, one["Location"]) == (302, refund_url(paid))
    assert "Select exactly one payment to refund part of it." in shown_messages(two)


def test_a_payment_that_did_not_succeed_cannot_be_refunded(client, campaign):
    failed = Payment.objects.create(
        contribution=contribution_make(campaign),
        kind=Payment.Kind.ONE_OFF,
        status=Payment.Status.FAILED,
        gross_minor=1000,
        currency="EUR",
        stripe_payment_intent_id="pi_failed",
    )
    client.force_login(staff_member(FINANCE))

    assert "Refund part" not in client.get(change_url(failed)).content.decode()
    response = client.post(
        refund_url(failed), {"amount": "5", "reason": "duplicate", "confirmed": "yes"}, follow=True
    )

    assert response.redirect_chain == [(change_url(failed), 302)]
    assert (
        f"Only a payment that succeeded can be refunded; payment {failed.pk} is failed."
        in shown_messages(response)
    )
    assert not Refund.objects.exists()


def test_a_refusal_from_stripe_is_an_admin_error_message(client, emulated):
    contribution = emulated.give(amount="2500")
    payment = Payment.objects.get(contribution=contribution)
    # The cardholder's bank charged it back; the ledger has not heard of it yet.
    disputes.dispute_open(emulated.emulator, charge_id=str(payment.stripe_charge_id))
    emulated.http.requests.clear()
    client.force_login(staff_member(FINANCE))

    response = client.post(
        refund_url(payment), {"amount": "12.50", "reason": "duplicate", "confirmed": "yes"}
    )

    assert response.status_code == 200
    assert (
        f"The refund of €12.50 was not made: Charge {payment.stripe_charge_id} has been charged "
        "back; cannot issue a refund." in shown_messages(response)
    )
    assert emulated.http.requests[-1]["params"] == {
        "payment_intent": payment.stripe_payment_intent_id,
        "reason": "duplicate",
        "amount": "1250",
    }
    payment.refresh_from_db()
    assert payment.refunded_minor == 0
    assert not Refund.objects.exists()


def test_a_refusal_from_the_demo_provider_is_an_admin_error_message(
    client, paid, django_capture_on_commit_callbacks
):
    # The provider refunded €20.00 the ledger has not heard of yet (its event is still queued).
    DemoGateway().refund_create(
        payment_intent_id=paid.stripe_payment_intent_id,
        amount_minor=2000,
        reason="requested_by_customer",
        idempotency_key="refunded-elsewhere",
    )
    client.force_login(staff_member(FINANCE))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            refund_url(paid), {"amount": "10", "reason": "duplicate", "confirmed": "yes"}
        )

    assert response.status_code == 200
    # Stripe's own words for it, as the emulator behind the demo answers them.
    assert (
        "The refund of €10.00 was not made: Refund amount (€10.00) is greater than unrefunded "
        "amount on charge (€5.00)" in shown_messages(response)
    )
    assert demo_object_load(paid.stripe_charge_id)["amount_refunded"] == 2000


def test_decimal_places_follow_the_currency(monkeypatch):
    monkeypatch.setitem(MINOR_UNIT_DIGITS, "JPY", 0)
    payment = Payment(
        pk=1,
        kind=Payment.Kind.ONE_OFF,
        status=Payment.Status.SUCCEEDED,
        gross_minor=5000,
        currency="JPY",
        stripe_payment_intent_id="pi_yen",
    )

    fraction = PartialRefundForm({"amount": "1250.5", "reason": "duplicate"}, payment=payment)
    whole = PartialRefundForm({"amount": "1250", "reason": "duplicate"}, payment=payment)

    assert fraction.errors["amount"] == ["JPY amounts have no decimal places."]
    assert "like 1250." in fraction.fields["amount"].help_text
    assert whole.is_valid()
    assert whole.cleaned_data["amount"] == 1250


@pytest.mark.django_db(transaction=True)
def test_a_partial_refund_commits_for_real(client, paid):
    """Outside a test's transaction, as in production: the demo provider commits on its own."""
    call_command("roles_sync")  # an earlier transactional test may have flushed the groups
    client.force_login(staff_member(FINANCE))

    response = client.post(
        refund_url(paid), {"amount": "7.50", "reason": "duplicate", "confirmed": "yes"}
    )

    assert (response.status_code, response["Location"]) == (302, change_url(paid))
    paid.refresh_from_db()
    assert paid.refunded_minor == 750
    assert Refund.objects.get().amount_minor == 750
    assert demo_object_load(paid.stripe_charge_id)["amount_refunded"] == 750


def test_a_note_says_why_and_is_kept_with_the_refund_but_not_sent(
    client, paid, django_capture_on_commit_callbacks
):
    client.force_login(staff_member(FINANCE))
    note = "Reader gave twice by mistake (ticket 4411) — Zoë"

    review = client.post(refund_url(paid), {"amount": "5", "reason": "duplicate", "note": note})
    assert f"Note: {note}" in review.content.decode()
    refund(client, paid, "5", "duplicate", note, capture=django_capture_on_commit_callbacks)

    assert Refund.objects.get().note == note
    history = client.get(f"/admin/payments/contribution/{paid.contribution_id}/change/")
    assert f"Refund €5.00 (succeeded): {note}" in history.content.decode()
    assert note in client.get(refund_url(paid)).content.decode()


def test_a_note_too_long_is_refused_with_its_limit(client, paid):
    client.force_login(staff_member(FINANCE))

    response = client.post(
        refund_url(paid), {"amount": "5", "reason": "duplicate", "note": "x" * 501}
    )

    assert "Keep the note under 500 characters." in response.content.decode()
    assert not Refund.objects.exists()


def test_a_refund_its_event_recorded_first_still_gets_who_asked_and_why(paid):
    from django.utils import timezone

    from payments.gateway import RefundDetails
    from payments.ledger import refund_record

    user = staff_member(FINANCE)
    details = RefundDetails(
        id="re_event_first",
        status="succeeded",
        amount_minor=500,
        currency="EUR",
        reason="duplicate",
        created=timezone.now(),
        charge_id=paid.stripe_charge_id,
        payment_intent_id=paid.stripe_payment_intent_id,
        balance_transaction_id="",
        failure_balance_transaction_id="",
        failure_reason="",
    )
    facts = {"payment": paid, "details": details}
    refund_record(**facts)  # the refund.created event, which knows no staff member
    refund_record(**facts, requested_by_id=user.pk, note="Paid twice")  # the admin's own write

    refund = Refund.objects.get()
    assert (refund.requested_by, refund.note) == (user, "Paid twice")
    paid.refresh_from_db()
    assert paid.refunded_minor == 500
