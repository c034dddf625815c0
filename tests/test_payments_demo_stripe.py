"""`manage.py demo_stripe`: what Stripe does without the reader, played in the demo, recorded by
the same webhook handlers as production, ending where the emulator's own balance says."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from payments.demo_provider.store import demo_emulator
from payments.models import Contribution, Dispute, Payment, Payout, Refund
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    demo_give,
    events_apply,
)

pytestmark = pytest.mark.django_db


def demo_stripe(capture, *args: str) -> str:
    out = StringIO()
    with capture(execute=True):
        call_command("demo_stripe", *args, stdout=out)
    events_apply()
    return out.getvalue()


def test_a_walk_through_refund_dispute_and_payout_matches_stripes_balance(
    client, campaign, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    with capture(execute=True):
        first = demo_give(client, frequency="one_off", amount="500", email="ada@example.org")
        second = demo_give(client, frequency="one_off", amount="2500", email="bob@example.org")
    events_apply()

    assert "Refunded" in demo_stripe(capture, "refund", str(second.pk), "--amount", "300")
    refund = Refund.objects.get()
    assert (refund.amount_minor, refund.status) == (300, "succeeded")

    opened = demo_stripe(capture, "dispute", str(first.pk))
    dispute_id = opened.split()[1]
    demo_stripe(capture, "dispute-close", dispute_id, "--lost")
    assert Dispute.objects.get().status == "lost"

    demo_stripe(capture, "advance", "3")
    assert "paid and reconciled" in demo_stripe(capture, "payout")
    payout = Payout.objects.get()
    emulator = demo_emulator()
    stripe_payout = emulator.get(payout.stripe_payout_id)
    assert payout.amount_minor == stripe_payout["amount"]
    # What reached the balance, by the ledger: the payments' net, less the refund, less the
    # dispute's withdrawal (amount and fee): the payout, to the cent.
    nets = sum(p.net_minor or 0 for p in Payment.objects.all())
    withdrawn = sum(
        t["net"] for t in emulator.store.scan("balance_transaction") if t["type"] == "adjustment"
    )
    assert nets - 300 + withdrawn == payout.amount_minor
    assert emulator.balance()["eur"] == {"available": 0, "pending": 0}
    assert "available €0.00" in demo_stripe(capture, "balance")


def test_a_pending_sepa_debit_settles_on_demand(
    client, campaign, django_capture_on_commit_callbacks
):
    client.post(
        "/support/keep-local-news-open/",
        {"frequency": "one_off", "amount": "1000", "email": "sepa@example.org", "website": ""},
    )
    contribution = Contribution.objects.get(supporter__email="sepa@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/support/demo-checkout/{contribution.stripe_checkout_session_id}/",
            {"card_number": "DE89 3704 0044 0532 0130 00"},
        )
    events_apply()
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.PROCESSING

    demo_stripe(django_capture_on_commit_callbacks, "sepa", str(contribution.pk))

    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.PAID
    assert Payment.objects.get().status == "succeeded"
    with pytest.raises(CommandError, match="no pending SEPA debit"):
        call_command("demo_stripe", "sepa", str(contribution.pk))
