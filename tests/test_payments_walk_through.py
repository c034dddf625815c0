"""A walk through every flow of Stripe the service meets, on the Stripe emulator, through the real
webhook intake and the worker's batch path, ending with the ledger, the finance dashboard and the
payout reconciliation agreeing with the emulator's own balance, to the cent, in both settlement
currencies (EUR, and GBP which the account also settles in; a USD gift is converted to EUR).

Flows: one-off card; subscription, its renewal and a failed renewal; SEPA Direct Debit succeeded
and failed; refunds partial, full, and one that fails later; a dispute lost and an inquiry; a gift
settled in another currency; Billing's fee; then automatic payouts, paid and reconciled. Events
reach the intake shuffled, with duplicates, as Stripe may send them; what arrives before what it
needs is applied by the sweep, as in production.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from finance.filters import ReportFilters
from finance.reconciliation import State, payout_state, payouts_reconciled
from finance.selectors import monthly_summary
from payments.models import Contribution, Payment, Payout, WebhookEvent
from payments.tests.emulated import WEBHOOK_SECRET, Emulated, emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import AMOUNTS, campaign_fixture  # noqa: F401 - fixture
from payments.webhooks import (
    webhook_event_process,
    webhook_events_apply_pending,
    webhook_events_due,
)
from stripe_emulator import deliveries
from stripe_emulator.flows import cards, checkout, disputes, invoices, payouts, refunds

pytestmark = pytest.mark.django_db

LEDGER_TYPES = ("charge", "payment", "refund", "payment_refund", "refund_failure", "adjustment")


class Walk:
    """The emulator and the service side by side: Stripe acts, its events reach the service."""

    def __init__(self, emulated: Emulated) -> None:
        self.emulated = emulated
        self.emulator = emulated.emulator
        self.seed = 0

    def deliver(self, events: list[dict[str, Any]]) -> None:
        """Post Stripe's events shuffled and some twice, then apply them as the worker does."""
        self.seed += 1
        for item in deliveries(
            events, secret=WEBHOOK_SECRET, order="shuffled", duplicates=2, seed=self.seed
        ):
            response = self.emulated.client.post(
                "/stripe/webhook/",
                data=item.payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=item.signature,
            )
            assert response.status_code == 200, response.content
        self.apply()

    def apply(self) -> None:
        webhook_events_apply_pending(limit=10_000, seconds=60)
        for _ in range(5):  # what came before what it needs: the sweep, again and again
            due = webhook_events_due()
            if not due:
                break
            for pk in due:
                webhook_event_process(event_pk=pk)
        failed = WebhookEvent.objects.exclude(status__in=("processed", "ignored"))
        assert not failed.exists(), list(failed.values_list("type", "last_error"))

    def act(self, step: Any, **kwargs: Any) -> Any:
        """Run a Stripe flow not the reader's (Dashboard, bank, time); deliver its events."""
        mark = self.emulator.events_mark()
        result = step(self.emulator, **kwargs)
        self.deliver(self.emulator.events(since=mark))
        return result

    def give(
        self, slug: str, email: str, amount: str, *, frequency: str = "one_off", number: str
    ) -> Contribution:
        response = self.emulated.client.post(
            f"/support/{slug}/",
            {
                "frequency": frequency,
                "amount": "",
                "custom_amount": f"{int(amount) / 100:.2f}",
                "email": email,
            },
        )
        assert response.status_code == 200, response.content
        contribution = Contribution.objects.get(supporter__email=email)
        assert contribution.stripe_checkout_session_id
        outcome = checkout.session_pay(
            self.emulator, session_id=contribution.stripe_checkout_session_id, number=number
        )
        self.deliver(outcome.events)
        contribution.refresh_from_db()
        return contribution

    def charge_of(self, contribution: Contribution) -> dict[str, Any]:
        session = self.emulator.get(str(contribution.stripe_checkout_session_id))
        if session.get("payment_intent"):
            intent = self.emulator.get(session["payment_intent"])
        else:
            subscription = self.emulator.get(session["subscription"])
            invoice = self.emulator.get(subscription["latest_invoice"])
            intent = self.emulator.get(invoice["payments"]["data"][0]["payment"]["payment_intent"])
        return self.emulator.get(intent["latest_charge"])


def test_every_flow_ends_with_the_ledger_dashboard_and_payouts_matching_stripe(
    emulated, campaign, settings
):
    settings.PAYMENTS_WEBHOOK_THREADS = 1  # the test's transaction is not seen by other threads
    settings.PAYMENTS_WEBHOOK_SWEEP_AFTER_SECONDS = 0
    emulator = emulated.emulator
    emulator.settlement_currencies.add("gbp")  # GBP is settled in GBP; USD is converted to EUR
    for code in ("GBP", "USD"):
        Campaign.objects.create(
            name=f"Appeal in {code}",
            slug=f"appeal-{code.lower()}",
            status=Campaign.Status.LIVE,
            currency=code,
            amounts=AMOUNTS,
        )
    walk = Walk(emulated)
    eur = campaign.slug

    one_off = walk.give(eur, "ada@example.org", "1000", number=cards.SUCCESS)
    monthly = walk.give(eur, "bob@example.org", "500", frequency="monthly", number=cards.SUCCESS)
    subscription_id = monthly.subscription.stripe_subscription_id
    walk.act(invoices.subscription_renew, subscription_id=subscription_id)
    walk.act(invoices.subscription_renew, subscription_id=subscription_id, fail=True)
    sepa = walk.give(eur, "cy@example.org", "2500", number=cards.SEPA_SUCCESS)
    walk.act(checkout.sepa_settle, session_id=sepa.stripe_checkout_session_id, fail=False)
    sepa_failed = walk.give(eur, "dee@example.org", "1500", number=cards.SEPA_FAILS)
    walk.act(checkout.sepa_settle, session_id=sepa_failed.stripe_checkout_session_id, fail=True)
    refunded = walk.give(eur, "eve@example.org", "700", number=cards.SUCCESS)
    failing = walk.give(eur, "fay@example.org", "1200", number=cards.REFUND_FAILS)
    disputed = walk.give(eur, "gus@example.org", "3000", number=cards.DISPUTED_FRAUD)
    walk.give(eur, "hal@example.org", "800", number=cards.DISPUTED_INQUIRY)
    in_pounds = walk.give("appeal-gbp", "ivy@example.org", "2000", number=cards.SUCCESS)
    in_dollars = walk.give("appeal-usd", "jon@example.org", "3000", number=cards.SUCCESS)

    walk.act(refunds.refund_create, charge_id=walk.charge_of(one_off)["id"], amount=300)
    walk.act(refunds.refund_create, charge_id=walk.charge_of(refunded)["id"])
    failing_refund = walk.act(refunds.refund_create, charge_id=walk.charge_of(failing)["id"])
    walk.act(refunds.refund_fail, refund_id=failing_refund["id"])
    walk.act(refunds.refund_create, charge_id=walk.charge_of(in_pounds)["id"], amount=500)
    walk.act(refunds.refund_create, charge_id=walk.charge_of(in_dollars)["id"], amount=1000)
    [dispute] = emulator.find("dispute", charge=walk.charge_of(disputed)["id"])
    walk.act(disputes.dispute_close, dispute_id=dispute["id"], won=False)
    walk.act(payouts.billing_fee_charge, amount=45)

    walk.act(emulator.__class__.advance, days=3)
    for currency in ("eur", "gbp"):
        walk.act(payouts.payout_run, currency=currency)
    for payout in emulator.find("payout"):
        walk.act(payouts.payout_paid, payout_id=payout["id"])
    # The bank sends the GBP payout back after it was paid: undone, and the next one carries it.
    [returned] = emulator.find("payout", currency="gbp")
    walk.act(payouts.payout_fail, payout_id=returned["id"])
    walk.give("appeal-gbp", "kim@example.org", "1000", number=cards.SUCCESS)
    walk.act(emulator.__class__.advance, days=3)
    walk.act(payouts.payout_run, currency="gbp")
    [carrying] = [p for p in emulator.find("payout", currency="gbp") if p["id"] != returned["id"]]
    walk.act(payouts.payout_paid, payout_id=carrying["id"])
    failed = payouts_reconciled().get(stripe_payout_id=returned["id"])
    assert (failed.status, payout_state(failed)) == ("failed", State.UNDONE)
    pounds = Payment.objects.get(stripe_charge_id=walk.charge_of(in_pounds)["id"])
    assert pounds.stripe_payout_id == carrying["id"]  # its money reached the bank with this one

    # 1. Every charge Stripe took is in the ledger once, with Stripe's own money.
    taken = [c for c in emulator.find("charge") if c["status"] == "succeeded"]
    recorded = Payment.objects.filter(status=Payment.Status.SUCCEEDED)
    assert sorted(str(i) for i in recorded.values_list("stripe_charge_id", flat=True)) == sorted(
        c["id"] for c in taken
    )
    for charge in taken:
        payment = recorded.get(stripe_charge_id=charge["id"])
        txn = emulator.get(charge["balance_transaction"])
        assert (payment.gross_minor, payment.currency) == (
            charge["amount"],
            charge["currency"].upper(),
        )
        assert (payment.net_minor, payment.fee_minor, payment.settlement_currency) == (
            txn["net"],
            txn["fee"],
            txn["currency"].upper(),
        )
    assert Payment.objects.filter(status=Payment.Status.FAILED).count() == 2  # renewal, SEPA

    # 2. Per settlement currency: what Stripe's balance moved equals what the ledger and the
    # dashboard say, and the payouts carried it to the cent.
    today = timezone.localdate()
    summary = monthly_summary(
        filters=ReportFilters(
            since=today - dt.timedelta(days=40), until=today + dt.timedelta(days=40)
        )
    )
    for currency in ("eur", "gbp"):
        code = currency.upper()
        txns = [t for t in emulator.store.scan("balance_transaction") if t["currency"] == currency]
        # A failed payout's own transaction and its `payout_failure` cancel out.
        moved = sum(t["net"] for t in txns if t["type"] not in ("payout", "payout_failure"))
        paid_out = sum(
            p["amount"] for p in emulator.find("payout", currency=currency) if p["status"] == "paid"
        )
        left = emulator.balance().get(currency, {"available": 0, "pending": 0})
        assert moved == paid_out + left["available"] + left["pending"]  # the emulator adds up

        ledger_kinds = sum(t["net"] for t in txns if t["type"] in LEDGER_TYPES)
        stripe_only = moved - ledger_kinds  # Billing's fee: Stripe's alone
        if currency == "gbp":  # the failed payout's money came back and went out again
            assert any(t["type"] == "payout_failure" for t in txns)
        rows = [r for r in summary if r.currency == code]
        dashboard = sum(r.net_after_refunds_and_disputes for r in rows)
        print(
            "WALK",
            code,
            moved,
            paid_out,
            left,
            ledger_kinds,
            stripe_only,
            dashboard,
            len(txns),
            sorted({t["type"] for t in txns}),
        )
        assert dashboard == ledger_kinds, (code, dashboard, ledger_kinds)
        assert dashboard + stripe_only == moved

        for payout in Payout.objects.filter(currency=code).exclude(status="failed"):
            stripe_payout = emulator.get(payout.stripe_payout_id)
            reconciled = payouts_reconciled().get(pk=payout.pk)
            assert payout.amount_minor == stripe_payout["amount"]
            carried = [t for t in txns if t.get("_payout") == payout.stripe_payout_id]
            assert payout.transactions.count() == len(carried)
            assert payout_state(reconciled) == State.MATCHES, (
                reconciled.rows_difference,
                reconciled.unmatched_count,
                reconciled.unexplained,
            )
        assert (
            sum(p.amount_minor for p in Payout.objects.filter(currency=code, status="paid"))
            == paid_out
        )
    assert Payout.objects.filter(currency="GBP").count() == 2
    assert Payout.objects.filter(currency="EUR").count() == 1
    # The dashboard's gross is the readers' money, in the charge's currency.
    usd = [r for r in summary if r.currency == "USD"]
    assert sum(r.gross for r in usd) == 3000 and sum(r.net for r in usd) == 0
