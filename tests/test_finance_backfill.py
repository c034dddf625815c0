"""`manage.py backfill_stripe` against a Stripe account played by the Stripe emulator, its clock
set to January 2026: the ledger missed some of Stripe's events (its rows are made with the
factories, naming the emulator's objects), and the backfill reads Stripe to close the gaps."""

import dataclasses
import datetime as dt
import io

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict
from django.utils import timezone

from finance.filters import DateBasis, ReportFilters
from finance.reconciliation import payouts_reconciled
from finance.selectors import monthly_summary
from payments import receipts, tasks
from payments.models import (
    Contribution,
    Dispute,
    DisputeMovement,
    Payment,
    Payout,
    Refund,
    Subscription,
    Supporter,
)
from payments.tests.emulated import emulator_install
from stripe_emulator.flows import cards, checkout, disputes, invoices, payouts, refunds
from stripe_emulator.scenarios import checkout_session_new
from tests.finance_factories import (
    ContributionFactory,
    DisputeFactory,
    DisputeMovementFactory,
    SubscriptionFactory,
    give,
)

JAN_10 = int(dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC).timestamp())
DAY = 86400
NOT_OURS = 10**9  # a contribution id no ledger here has: another integration's payment


@pytest.fixture(name="stripe")
def stripe_fixture(settings, monkeypatch):
    """A Stripe test account in the emulator, its clock at 10 January 2026, 12:00 UTC; the
    emulator's HTTP client (its `requests` record what the backfill asked)."""
    http = emulator_install(settings, monkeypatch)
    settings.PUBLISHER_TIME_ZONE = "Europe/London"
    clock_to(http.emulator, JAN_10)
    return http


def clock_to(emulator, when: int) -> None:
    emulator.advance(seconds=when - emulator.now())


def at(timestamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


def paid_charge(emulator, *, amount, contribution_id=NOT_OURS):
    """A one-off card checkout paid now at Stripe; its charge."""
    session = checkout_session_new(emulator, amount=amount, contribution_id=contribution_id)
    checkout.session_pay(emulator, session_id=session["id"], number=cards.SUCCESS)
    intent = emulator.get(emulator.get(session["id"])["payment_intent"])
    return emulator.get(intent["latest_charge"])


def recorded(emulator, charge, **fields):
    """The ledger's payment of `charge`, with its fee, as its webhook recorded it."""
    txn = emulator.get(charge["balance_transaction"])
    values = dict(
        paid_at=at(charge["created"]),
        gross=charge["amount"],
        fee=txn["fee"],
        stripe_charge_id=charge["id"],
        stripe_payment_intent_id=charge["payment_intent"],
        stripe_balance_transaction_id=txn["id"],
    )
    return give(**(values | fields))


def paid_out(emulator) -> str:
    """Stripe's automatic payout of what is available, paid and reconciled; its id."""
    created = payouts.payout_run(emulator)
    assert created, "nothing available to pay out"
    payout_id = created[0]["data"]["object"]["id"]
    payouts.payout_paid(emulator, payout_id=payout_id)
    return payout_id


def asked(http, path):
    return [r["query"] for r in http.requests if r["path"] == path]


def ledger_snapshot() -> dict:
    return {
        model.__name__: sorted(
            (model_to_dict(row) | {"updated_at": row.updated_at} for row in model.objects.all()),
            key=lambda row: row["id"],
        )
        for model in (
            Payment,
            Refund,
            Dispute,
            DisputeMovement,
            Payout,
            Subscription,
            Contribution,
            Supporter,
        )
    }


def backfill(since: str, until: str) -> str:
    out = io.StringIO()
    call_command("backfill_stripe", "--since", since, "--until", until, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_backfill_closes_the_gaps_then_changes_nothing(stripe, django_capture_on_commit_callbacks):
    emulator = stripe.emulator
    # Paid in Stripe, never recorded here: its checkout webhook was lost.
    missed = ContributionFactory.create(amount_minor=2500, status=Contribution.Status.PENDING)
    known_charge = paid_charge(emulator, amount=1000)
    missed_charge = paid_charge(emulator, amount=2500, contribution_id=missed.pk)
    stranger = paid_charge(emulator, amount=700)
    # Known to the ledger, but the webhook carrying its fee, refund and payout was missed.
    known = recorded(
        emulator, known_charge, fee=None, stripe_balance_transaction_id=None, method=""
    )
    emulator.advance(seconds=3600)
    refund = refunds.refund_create(emulator, charge_id=known_charge["id"], amount=300)
    emulator.advance(days=2)
    payout_id = paid_out(emulator)
    known_txn = emulator.get(known_charge["balance_transaction"])
    missed_txn = emulator.get(missed_charge["balance_transaction"])

    out = io.StringIO()
    with django_capture_on_commit_callbacks():
        call_command(
            "backfill_stripe", "--since", "2026-01-01", "--until", "2026-01-31", stdout=out
        )

    # The request asked Stripe for the period in the publisher's time zone, expanded.
    [query] = asked(stripe, "/v1/charges")
    start = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp())  # London is on UTC in January
    end = int(dt.datetime(2026, 2, 1, tzinfo=dt.UTC).timestamp())
    assert query["created[gte]"] == str(start) and query["created[lt]"] == str(end)
    assert "data.balance_transaction" in [v for k, v in query.items() if k.startswith("expand")]

    known.refresh_from_db()
    assert (known.fee_minor, known.net_minor, known.stripe_balance_transaction_id) == (
        known_txn["fee"],
        1000 - known_txn["fee"],
        known_txn["id"],
    )
    assert known.payment_method_type == "card"
    assert known.stripe_payout_id == payout_id
    assert known.refunded_minor == 300
    row = Refund.objects.get()
    assert (row.stripe_refund_id, row.amount_minor, row.stripe_payout_id) == (
        refund["id"],
        300,
        payout_id,
    )

    recovered = Payment.objects.get(stripe_charge_id=missed_charge["id"])
    assert recovered.contribution == missed
    assert (recovered.gross_minor, recovered.fee_minor, recovered.net_minor) == (
        2500,
        missed_txn["fee"],
        missed_txn["net"],
    )
    # The balance transaction's side too, so the reports add its fee and net in its currency.
    assert (recovered.settlement_amount_minor, recovered.settlement_currency) == (2500, "EUR")
    assert Refund.objects.get().settlement_net_minor == -300
    assert recovered.status == Payment.Status.SUCCEEDED
    assert recovered.stripe_payout_id == payout_id
    missed.refresh_from_db()
    assert missed.status == Contribution.Status.PAID and missed.first_paid_at is not None

    assert not Payment.objects.filter(stripe_charge_id=stranger["id"]).exists()
    assert stranger["id"] in out.getvalue()

    payout = payouts_reconciled().get(stripe_payout_id=payout_id)
    assert payout.arrival_date == dt.date(2026, 1, 13)
    # The unmatched charge's net is the flagged difference until someone places it.
    assert payout.difference == emulator.get(stranger["balance_transaction"])["net"]

    before = ledger_snapshot()
    again = io.StringIO()
    call_command("backfill_stripe", "--since", "2026-01-01", "--until", "2026-01-31", stdout=again)
    assert ledger_snapshot() == before
    assert "The ledger already had everything." in again.getvalue()


@pytest.mark.django_db
def test_backfill_refuses_bad_input(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_backfill"
    with pytest.raises(CommandError, match="is not a date"):
        call_command("backfill_stripe", "--since", "January", "--until", "2026-01-31")
    with pytest.raises(CommandError, match="after --until"):
        call_command("backfill_stripe", "--since", "2026-02-01", "--until", "2026-01-31")
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(CommandError, match="STRIPE_SECRET_KEY"):
        call_command("backfill_stripe", "--since", "2026-01-01", "--until", "2026-01-31")


@pytest.mark.django_db
def test_backfill_ties_a_dispute_withdrawal_to_its_payout(stripe):
    emulator = stripe.emulator
    disputed_charge = paid_charge(emulator, amount=2000)
    emulator.advance(days=2)
    earlier = paid_out(emulator)
    disputed = recorded(emulator, disputed_charge, stripe_payout_id=earlier)
    # Another payment, paid out with the withdrawal (Stripe pays out a positive balance).
    other = recorded(emulator, paid_charge(emulator, amount=5000))
    opened = disputes.dispute_open(emulator, charge_id=disputed_charge["id"])
    dispute_id = opened[0]["data"]["object"]["id"]
    # Recorded by its webhook before Stripe listed the money it moved.
    dispute = DisputeFactory.create(
        payment=disputed, stripe_dispute_id=dispute_id, amount_minor=2000, fee_minor=0
    )
    disputes.dispute_close(emulator, dispute_id=dispute_id, won=False)
    emulator.advance(days=2)
    withdrawn = paid_out(emulator)
    [withdrawal] = emulator.get(dispute_id)["balance_transactions"]

    backfill("2026-01-01", "2026-01-31")

    dispute.refresh_from_db()
    assert dispute.fee_minor == 1500
    assert list(
        dispute.movements.values_list("stripe_balance_transaction_id", "stripe_payout_id")
    ) == [(withdrawal["id"], withdrawn)]
    reconciled = payouts_reconciled().get(stripe_payout_id=withdrawn)
    assert (reconciled.disputes_net, reconciled.difference) == (-3500, 0)
    other.refresh_from_db()
    assert other.stripe_payout_id == withdrawn


# --- Recurring payments (invoices) and disputes ----------------------------------------------

DEC_20 = int(dt.datetime(2025, 12, 20, 12, tzinfo=dt.UTC).timestamp())
JAN_20 = int(dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC).timestamp())
FEB_5 = int(dt.datetime(2026, 2, 5, 12, tzinfo=dt.UTC).timestamp())
FEB_16 = int(dt.datetime(2026, 2, 16, 12, tzinfo=dt.UTC).timestamp())


def subscribed(emulator, *, amount, contribution_id=NOT_OURS):
    """A monthly checkout paid now at Stripe; the subscription's id and the events."""
    session = checkout_session_new(
        emulator, mode="subscription", amount=amount, contribution_id=contribution_id
    )
    outcome = checkout.session_pay(emulator, session_id=session["id"], number=cards.SUCCESS)
    return emulator.get(session["id"])["subscription"], outcome.events


def paid_invoice(emulator, events):
    """The paid invoice among a flow's events, and the charge that paid it (as it is now)."""
    [invoice] = [e["data"]["object"] for e in events if e["type"] == "invoice.paid"]
    [charge] = [e["data"]["object"] for e in events if e["type"] == "charge.succeeded"]
    return invoice, emulator.get(charge["id"])


def month(rows, first_day: dt.date):
    (row,) = [row for row in rows if row.month == first_day]
    return row


@pytest.mark.postgres
@pytest.mark.django_db
def test_backfill_records_missed_recurring_payments_then_changes_nothing(stripe):
    emulator = stripe.emulator
    # A monthly contribution the ledger follows since December; the webhook of its January
    # renewal was missed.
    renewing = SubscriptionFactory.create(
        contribution__amount_minor=1000, contribution__status=Contribution.Status.ACTIVE
    )
    clock_to(emulator, JAN_10 - 31 * DAY)
    renewing_id, _ = subscribed(emulator, amount=1000, contribution_id=renewing.contribution.pk)
    Subscription.objects.filter(pk=renewing.pk).update(stripe_subscription_id=renewing_id)
    renewing.refresh_from_db()
    clock_to(emulator, JAN_10)
    renewal, renewal_charge = paid_invoice(
        emulator, invoices.subscription_renew(emulator, subscription_id=renewing_id)
    )
    # A monthly contribution whose every webhook was missed: checkout, subscription, invoice.
    starting = ContributionFactory.create(
        frequency="monthly", amount_minor=500, status=Contribution.Status.PENDING
    )
    emulator.advance(days=2)
    starting_id, starting_events = subscribed(emulator, amount=500, contribution_id=starting.pk)
    first, first_charge = paid_invoice(emulator, starting_events)
    # A subscription on the same Stripe account that is no contribution of ours.
    emulator.advance(days=1)
    _, stranger_events = subscribed(emulator, amount=700)
    stranger, stranger_charge = paid_invoice(emulator, stranger_events)

    out = backfill("2026-01-01", "2026-01-31")

    [query] = asked(stripe, "/v1/invoices")
    start = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp())
    assert query["status"] == "paid" and query["created[gte]"] == str(start)

    renewed = Payment.objects.get(stripe_invoice_id=renewal["id"])
    assert (renewed.kind, renewed.status) == (
        Payment.Kind.SUBSCRIPTION_RENEWAL,
        Payment.Status.SUCCEEDED,
    )
    assert (renewed.subscription, renewed.contribution) == (renewing, renewing.contribution)
    renewal_txn = emulator.get(renewal_charge["balance_transaction"])
    assert (renewed.gross_minor, renewed.fee_minor, renewed.net_minor) == (
        1000,
        renewal_txn["fee"],
        renewal_txn["net"],
    )
    assert (
        renewed.stripe_charge_id,
        renewed.stripe_payment_intent_id,
        renewed.stripe_balance_transaction_id,
    ) == (renewal_charge["id"], renewal_charge["payment_intent"], renewal_txn["id"])
    assert renewed.paid_at == at(renewal["status_transitions"]["paid_at"])

    # The subscription the ledger never saw is mirrored, as the invoice's webhook would have.
    started = Payment.objects.get(stripe_invoice_id=first["id"])
    mirrored = Subscription.objects.get(stripe_subscription_id=starting_id)
    assert (started.kind, started.subscription, started.contribution) == (
        Payment.Kind.SUBSCRIPTION_FIRST,
        mirrored,
        starting,
    )
    first_txn = emulator.get(first_charge["balance_transaction"])
    assert (started.gross_minor, started.fee_minor, started.net_minor) == (
        500,
        first_txn["fee"],
        first_txn["net"],
    )
    assert (mirrored.status, mirrored.amount_minor) == ("active", 500)
    starting.refresh_from_db()
    assert starting.status == Contribution.Status.ACTIVE
    assert starting.first_paid_at == at(first["status_transitions"]["paid_at"])
    assert starting.supporter.stripe_customer_id == first["customer"]

    # Nothing invented for the stranger: its invoice and charge are left for a person.
    assert Subscription.objects.count() == 2
    assert not Payment.objects.filter(stripe_charge_id=stranger_charge["id"]).exists()
    assert "1 paid invoices belong to no contribution in the ledger" in out
    assert stranger["id"] in out
    # The charges of the invoices now recorded are theirs, not unmatched.
    assert (
        f"1 charges match no contribution (look them up in Stripe): {stranger_charge['id']}" in out
    )
    assert "3 paid invoices read, 2 recorded; 3 charges read" in out

    summary = monthly_summary(
        filters=ReportFilters(since=dt.date(2026, 1, 1), until=dt.date(2026, 1, 31))
    )
    january = month(summary, dt.date(2026, 1, 1))
    assert (january.recurring_payments, january.recurring_gross) == (2, 1500)
    fees = renewal_txn["fee"] + first_txn["fee"]
    assert (january.fees, january.net) == (fees, 1500 - fees)

    before = ledger_snapshot()
    again = backfill("2026-01-01", "2026-01-31")
    assert ledger_snapshot() == before
    assert "3 paid invoices read, 0 recorded" in again
    assert "The ledger already had everything." in again


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # commits for real: receipts are enqueued after them
def test_a_backfilled_payment_gets_its_receipt_only_when_it_was_made_lately(stripe, monkeypatch):
    emulator = stripe.emulator
    enqueued: list[list[int]] = []
    monkeypatch.setattr(tasks.receipts_send, "delay", enqueued.append)
    reader = SubscriptionFactory.create(
        contribution__status=Contribution.Status.ACTIVE,
        contribution__supporter__email="reader@example.org",
    )
    now = int(timezone.now().timestamp())
    clock_to(emulator, now - 70 * DAY)
    reader_id, _ = subscribed(emulator, amount=1000, contribution_id=reader.contribution.pk)
    Subscription.objects.filter(pk=reader.pk).update(stripe_subscription_id=reader_id)
    clock_to(emulator, now - 40 * DAY)
    weeks_ago, _ = paid_invoice(
        emulator, invoices.subscription_renew(emulator, subscription_id=reader_id)
    )
    clock_to(emulator, now - 2 * DAY)
    lately, _ = paid_invoice(
        emulator, invoices.subscription_renew(emulator, subscription_id=reader_id)
    )
    today = timezone.localdate()

    backfill((today - dt.timedelta(days=45)).isoformat(), today.isoformat())

    # Both are in the ledger; only the one made two days ago is thanked for, weeks later nothing.
    recent = Payment.objects.get(stripe_invoice_id=lately["id"])
    old = Payment.objects.get(stripe_invoice_id=weeks_ago["id"])
    assert recent.status == old.status == Payment.Status.SUCCEEDED
    assert enqueued == [[recent.pk]]
    receipts.receipts_send(payment_pks=enqueued[0])
    assert [message.to for message in mail.outbox] == [["reader@example.org"]]


@pytest.mark.postgres
@pytest.mark.django_db
def test_backfill_records_a_missed_dispute_with_its_fee(stripe):
    emulator = stripe.emulator
    disputed_charge = paid_charge(emulator, amount=2000)
    disputed = recorded(emulator, disputed_charge)
    elsewhere = paid_charge(emulator, amount=700)  # a payment this ledger does not have
    clock_to(emulator, JAN_20)
    [opened] = [
        e["data"]["object"]
        for e in disputes.dispute_open(emulator, charge_id=disputed_charge["id"])
        if e["type"] == "charge.dispute.created"
    ]
    emulator.advance(days=1)
    # On a payment this ledger does not have: not invented.
    stranger = disputes.dispute_open(emulator, charge_id=elsewhere["id"])[0]["data"]["object"]

    out = backfill("2026-01-01", "2026-01-31")

    dispute = Dispute.objects.get()
    assert (dispute.stripe_dispute_id, dispute.payment) == (opened["id"], disputed)
    assert (dispute.status, dispute.reason) == ("needs_response", "fraudulent")
    assert (dispute.amount_minor, dispute.fee_minor, dispute.currency) == (2000, 1500, "EUR")
    assert dispute.opened_at == at(opened["created"])
    assert dispute.closed_at is None
    disputed.refresh_from_db()
    assert disputed.disputed_minor == 2000
    assert "2 disputes read, 1 recorded, 0 updated" in out
    assert (
        f"1 disputes are on payments not in the ledger (look them up in Stripe): {stranger['id']}"
        in out
    )
    summary = monthly_summary(
        filters=ReportFilters(since=dt.date(2026, 1, 1), until=dt.date(2026, 1, 31))
    )
    january = month(summary, dt.date(2026, 1, 1))
    assert (january.dispute_fees, january.disputes) == (1500, 0)  # open: not lost (yet)

    before = ledger_snapshot()
    assert "The ledger already had everything." in backfill("2026-01-01", "2026-01-31")
    assert ledger_snapshot() == before


@pytest.mark.postgres
@pytest.mark.django_db
def test_backfill_follows_disputes_to_their_end_in_a_later_month(stripe):
    emulator = stripe.emulator

    def january_payment(gross):
        charge = paid_charge(emulator, amount=gross)
        return charge, recorded(emulator, charge)

    def opened_in_january(charge, payment):
        [opened] = [
            e["data"]["object"]
            for e in disputes.dispute_open(emulator, charge_id=charge["id"])
            if e["type"] == "charge.dispute.created"
        ]
        payment.disputed_minor = payment.gross_minor
        payment.save()
        return opened["id"], DisputeFactory.create(
            payment=payment,
            stripe_dispute_id=opened["id"],
            status="under_review",
            opened_at=at(opened["created"]),
            stripe_state_at=at(opened["created"]),
        )

    # Two disputes opened in January, as their webhooks recorded them; both closed in February
    # with the closing webhooks missed. A third opened and was lost in February, unrecorded.
    won_charge, won_payment = january_payment(2000)
    decided_charge, decided_payment = january_payment(1000)
    lost_charge, lost_later = january_payment(1500)
    clock_to(emulator, JAN_20)
    won_id, won = opened_in_january(won_charge, won_payment)
    decided_id, decided = opened_in_january(decided_charge, decided_payment)
    clock_to(emulator, FEB_5)
    lost_id = disputes.dispute_open(emulator, charge_id=lost_charge["id"])[0]["data"]["object"][
        "id"
    ]
    disputes.dispute_close(emulator, dispute_id=lost_id, won=False)
    disputes.dispute_close(emulator, dispute_id=decided_id, won=False)
    clock_to(emulator, FEB_16)
    disputes.dispute_close(emulator, dispute_id=won_id, won=True, fee_returned=False)
    given_back = emulator.get(won_id)["balance_transactions"][1]["created"]

    out = backfill("2026-02-01", "2026-02-28")

    assert "3 disputes read, 1 recorded, 2 updated" in out
    won.refresh_from_db()
    decided.refresh_from_db()
    lost = Dispute.objects.get(stripe_dispute_id=lost_id)
    # A won dispute closed when its money came back.
    assert (won.status, won.closed_at) == ("won", at(given_back))
    assert won.payment.disputed_minor == 0
    # Stripe does not say when a lost dispute was decided: the close time stays unknown.
    assert (decided.status, decided.closed_at, decided.payment.disputed_minor) == (
        "lost",
        None,
        1000,
    )
    assert (lost.status, lost.payment, lost.fee_minor, lost.closed_at) == (
        "lost",
        lost_later,
        1500,
        None,
    )
    assert lost.opened_at == at(emulator.get(lost_id)["created"])
    lost_later.refresh_from_db()
    assert lost_later.disputed_minor == 1500

    summary = monthly_summary(
        filters=ReportFilters(since=dt.date(2026, 1, 1), until=dt.date(2026, 2, 28))
    )
    january, february = month(summary, dt.date(2026, 1, 1)), month(summary, dt.date(2026, 2, 1))
    # The February loss of a January payment counts in February; a loss with no known close time
    # counts where its dispute opened; fees count where their disputes opened.
    assert (february.disputes, february.dispute_fees) == (1500, 1500)
    assert (january.disputes, january.dispute_fees) == (1000, 3000)

    before = ledger_snapshot()
    again = backfill("2026-02-01", "2026-02-28")
    assert ledger_snapshot() == before
    assert "1 disputes read, 0 recorded, 0 updated" in again  # the closed ones are not read again


def disputed_in_january(emulator):
    """A 20.00 payment of December (paid out then), disputed on 20 January with another
    payment that day, so that January's payout is positive: (dispute id, the disputed payment,
    the January payout)."""
    clock_to(emulator, DEC_20)
    charge = paid_charge(emulator, amount=2000)
    emulator.advance(days=2)
    disputed = recorded(emulator, charge, stripe_payout_id=paid_out(emulator))
    clock_to(emulator, JAN_20)
    opened = disputes.dispute_open(emulator, charge_id=charge["id"])
    recorded(emulator, paid_charge(emulator, amount=5000))
    emulator.advance(days=2)
    return opened[0]["data"]["object"]["id"], disputed, paid_out(emulator)


@pytest.mark.postgres
@pytest.mark.django_db
def test_backfill_reconciles_a_dispute_withdrawn_in_one_payout_and_reinstated_in_a_later_one(
    stripe,
):
    emulator = stripe.emulator
    # Every event of this dispute was missed: opened in January, won in February with the fee.
    dispute_id, disputed, withdrawn = disputed_in_january(emulator)
    clock_to(emulator, FEB_16)
    disputes.dispute_close(emulator, dispute_id=dispute_id, won=True, fee_returned=True)
    emulator.advance(days=2)
    reinstated = paid_out(emulator)
    withdrawal, reinstatement = emulator.get(dispute_id)["balance_transactions"]

    out = backfill("2026-01-01", "2026-02-28")

    assert "1 disputes read, 1 recorded, 0 updated" in out
    reconciled = {p.stripe_payout_id: p for p in payouts_reconciled()}
    assert (reconciled[withdrawn].disputes_net, reconciled[withdrawn].difference) == (-3500, 0)
    assert (reconciled[reinstated].disputes_net, reconciled[reinstated].difference) == (3500, 0)
    dispute = Dispute.objects.get()
    assert (dispute.status, dispute.fee_minor) == ("won", 0)
    assert dispute.closed_at == at(reinstatement["created"])
    assert list(
        dispute.movements.values_list("stripe_balance_transaction_id", "net_minor", "moved_at")
    ) == [
        (withdrawal["id"], -3500, at(withdrawal["created"])),
        (reinstatement["id"], 3500, at(reinstatement["created"])),
    ]
    disputed.refresh_from_db()
    assert disputed.disputed_minor == 0

    # A won dispute is no loss; its fee came back. By payout date each month holds what its
    # payouts carried: the fee taken in January's payout, given back in February's.
    period = ReportFilters(since=dt.date(2026, 1, 1), until=dt.date(2026, 2, 28))
    summary = monthly_summary(filters=period)
    assert all((row.disputes, row.dispute_fees) == (0, 0) for row in summary)
    by_payout = monthly_summary(filters=dataclasses.replace(period, date_basis=DateBasis.PAYOUT))
    january, february = month(by_payout, dt.date(2026, 1, 1)), month(by_payout, dt.date(2026, 2, 1))
    assert (january.disputes, january.dispute_fees) == (0, 1500)
    assert (february.disputes, february.dispute_fees) == (0, -1500)

    before = ledger_snapshot()
    again = backfill("2026-01-01", "2026-02-28")
    assert ledger_snapshot() == before
    assert "The ledger already had everything." in again


@pytest.mark.postgres
@pytest.mark.django_db
def test_backfill_reads_a_won_dispute_again_when_a_payout_carries_its_missed_reinstatement(
    stripe,
):
    emulator = stripe.emulator
    dispute_id, disputed, january_payout = disputed_in_january(emulator)
    withdrawal = emulator.get(dispute_id)["balance_transactions"][0]
    # The ledger has it as won (its closing event came) with the withdrawal in January's payout;
    # the event listing the money given back was missed.
    dispute = DisputeFactory.create(
        payment=disputed,
        stripe_dispute_id=dispute_id,
        amount_minor=2000,
        status="won",
        opened_at=at(emulator.get(dispute_id)["created"]),
        closed_at=at(FEB_16),
        stripe_state_at=at(FEB_16),
    )
    DisputeMovementFactory.create(
        dispute=dispute,
        stripe_balance_transaction_id=withdrawal["id"],
        stripe_payout_id=january_payout,
    )
    clock_to(emulator, FEB_16)
    disputes.dispute_close(emulator, dispute_id=dispute_id, won=True, fee_returned=False)
    emulator.advance(days=2)
    february_payout = paid_out(emulator)
    reinstatement = emulator.get(dispute_id)["balance_transactions"][1]

    out = backfill("2026-02-01", "2026-02-28")

    assert "1 disputes read, 0 recorded, 1 updated" in out
    assert f"/v1/disputes/{dispute_id}" in [r["path"] for r in stripe.requests]
    reinstated = DisputeMovement.objects.get(stripe_balance_transaction_id=reinstatement["id"])
    assert (reinstated.dispute, reinstated.net_minor, reinstated.stripe_payout_id) == (
        dispute,
        2000,
        february_payout,
    )
    assert payouts_reconciled().get(stripe_payout_id=february_payout).difference == 0
    dispute.refresh_from_db()
    assert (dispute.status, dispute.fee_minor) == ("won", 1500)  # this fee was not given back

    before = ledger_snapshot()
    again = backfill("2026-02-01", "2026-02-28")
    assert ledger_snapshot() == before
    assert "The ledger already had everything." in again
