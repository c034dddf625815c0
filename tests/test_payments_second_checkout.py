"""The hosted fallback expires the embedded session; a contribution paid twice anyway (both
sessions paid) records the second payment or subscription on a contribution of its own, applies
every event, and flags it for staff to refund."""

import pytest

from payments.models import Contribution, ContributionFlag, Payment, Subscription, WebhookEvent
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from staff.roles import FINANCE
from staff.tests.helpers import staff_member
from stripe_emulator.flows import cards, checkout
from stripe_emulator.scenarios import checkout_session_new

pytestmark = pytest.mark.django_db


def fallback_url(page):
    import re

    found = re.search(r'action="(/support/checkout/[^"]+/hosted/)"', page.content.decode())
    assert found is not None
    return found.group(1)


def start_embedded(emulated, **fields):
    form = {
        "frequency": "one_off",
        "amount": "1000",
        "custom_amount": "",
        "email": "ada@example.org",
    }
    form.update(fields)
    page = emulated.client.post("/support/keep-local-news-open/", form)
    assert page.status_code == 200
    return Contribution.objects.latest("pk"), page


def test_the_hosted_fallback_expires_the_embedded_session(emulated):
    contribution, page = start_embedded(emulated)
    embedded = contribution.stripe_checkout_session_id
    mark = emulated.emulator.events_mark()

    response = emulated.client.post(fallback_url(page))

    assert response.status_code == 302
    assert emulated.emulator.get(embedded)["status"] == "expired"
    contribution.refresh_from_db()
    hosted = contribution.stripe_checkout_session_id
    assert hosted != embedded
    assert emulated.emulator.get(hosted)["ui_mode"] == "hosted_page"
    # Stripe's checkout.session.expired for the embedded one leaves the contribution waiting.
    assert "checkout.session.expired" in emulated.deliver(emulated.emulator.events(since=mark))
    contribution.refresh_from_db()
    assert contribution.status == "pending"
    emulated.pay(contribution)
    assert contribution.status == "paid"
    # The embedded page can no longer take the money.
    late = checkout.session_pay(emulated.emulator, session_id=embedded, number=cards.SUCCESS)
    assert not late.paid


def test_the_fallback_refuses_once_the_embedded_session_was_paid(emulated):
    contribution, page = start_embedded(emulated)
    checkout.session_pay(
        emulated.emulator, session_id=contribution.stripe_checkout_session_id, number=cards.SUCCESS
    )

    response = emulated.client.post(fallback_url(page))

    assert response.status_code == 409
    assert "paid already" in response.content.decode()
    assert len(emulated.emulator.find("checkout.session")) == 1


@pytest.mark.parametrize("mode", ["payment", "subscription"])
def test_both_sessions_paid_are_both_recorded_and_the_second_is_flagged(emulated, mode):
    frequency = "monthly" if mode == "subscription" else "one_off"
    contribution, _ = start_embedded(emulated, frequency=frequency, amount="500")
    # A second session of the same contribution (as the hosted fallback made it), paid too.
    second = checkout_session_new(
        emulated.emulator,
        mode=mode,
        amount=contribution.charge_minor,
        contribution_id=contribution.pk,
        ui_mode="hosted_page",
    )
    events = []
    for session_id in (contribution.stripe_checkout_session_id, second["id"]):
        outcome = checkout.session_pay(
            emulated.emulator, session_id=session_id, number=cards.SUCCESS
        )
        assert outcome.paid
        events += outcome.events

    emulated.deliver(events, order="shuffled", duplicates=3, seed=7)
    emulated.deliver(events, order="reversed")  # and all of them again, late

    assert not WebhookEvent.objects.filter(status="failed").exists()
    assert Contribution.objects.count() == 2
    assert Payment.objects.filter(status="succeeded").count() == 2
    if mode == "subscription":
        assert Subscription.objects.count() == 2
    flag = ContributionFlag.objects.get()
    assert flag.kind == "second_checkout"
    assert flag.contribution.pk != contribution.pk
    assert flag.contribution.payments.get().status == "succeeded"
    assert str(contribution.pk) in flag.detail

    emulated.client.force_login(staff_member(FINANCE))
    listing = emulated.client.get("/admin/payments/contribution/?flagged=open").content.decode()
    assert "Paid twice: refund this second checkout" in listing
