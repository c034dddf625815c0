"""`manage.py backfill_stripe` against Stripe's HTTP layer replaced by a fake that answers with
objects built from Stripe's published examples (tests/fixtures/finance_stripe_objects.json)."""

import copy
import datetime as dt
import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import stripe
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict

from finance.reconciliation import payouts_reconciled
from payments.models import Contribution, Payment, Payout, Refund
from payments.stripe_gateway import StripeGateway
from tests.finance_factories import ContributionFactory, DisputeFactory, give

FIXTURES = json.loads(
    (Path(__file__).parent / "fixtures" / "finance_stripe_objects.json").read_text()
)["resources"]
JAN_10 = int(dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC).timestamp())


def example(kind: str, **changes: object) -> dict:
    obj = copy.deepcopy(FIXTURES[kind])
    obj.update(changes)
    return obj


def listing(url: str, data: list[dict]) -> dict:
    return {"object": "list", "data": data, "has_more": False, "url": url}


def charge(charge_id, *, amount, fee, intent_metadata=None, refunds=(), currency="eur"):
    return example(
        "charge",
        id=charge_id,
        amount=amount,
        amount_captured=amount,
        captured=True,
        currency=currency,
        created=JAN_10,
        status="succeeded",
        metadata={},
        balance_transaction=example(
            "balance_transaction",
            id=f"txn_{charge_id}",
            amount=amount,
            fee=fee,
            net=amount - fee,
            currency=currency,
            source=charge_id,
            type="charge",
        ),
        payment_intent=example(
            "payment_intent",
            id=f"pi_{charge_id}",
            amount=amount,
            currency=currency,
            status="succeeded",
            metadata=intent_metadata or {},
        ),
        refunds=listing(f"/v1/charges/{charge_id}/refunds", list(refunds)),
    )


class FakeStripeHTTP(stripe.HTTPClient):
    """Stripe's HTTP layer, answering GET requests from a table of paths."""

    name = "fake"

    def __init__(self, routes: dict[str, dict]) -> None:
        super().__init__()
        self.routes = routes
        self.requests: list[tuple[str, str, dict]] = []

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        parts = urlsplit(url)
        self.requests.append((method, parts.path, parse_qs(parts.query)))
        key = parts.path
        if parts.path == "/v1/balance_transactions":
            key += "?payout=" + parse_qs(parts.query)["payout"][0]
        if key not in self.routes:
            body = {"error": {"type": "invalid_request_error", "message": f"no route {key}"}}
            return json.dumps(body), 404, {}
        return json.dumps(self.routes[key]), 200, {"request-id": "req_fake"}

    def close(self):
        pass


@pytest.fixture
def stripe_account(settings, monkeypatch):
    """A Stripe account holding three January charges and one payout, and our ledger with gaps."""
    settings.STRIPE_SECRET_KEY = "sk_test_backfill"
    settings.PUBLISHER_TIME_ZONE = "Europe/London"

    # Known to the ledger, but the webhook carrying its fee, refund and payout was missed.
    known = give(
        paid_at=dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC),
        gross=1000,
        fee=None,
        stripe_charge_id="ch_known",
        stripe_payment_intent_id="pi_ch_known",
        stripe_balance_transaction_id=None,
        method="",
    )
    # Paid in Stripe, never recorded here: its checkout webhook was lost.
    missed = ContributionFactory.create(amount_minor=2500, status=Contribution.Status.PENDING)

    refund = example(
        "refund",
        id="re_known",
        amount=300,
        charge="ch_known",
        currency="eur",
        created=JAN_10 + 3600,
        balance_transaction="txn_re_known",
        status="succeeded",
    )
    charges = [
        charge("ch_known", amount=1000, fee=45, refunds=[refund]),
        charge(
            "ch_missed", amount=2500, fee=100, intent_metadata={"contribution_id": str(missed.pk)}
        ),
        charge("ch_stranger", amount=700, fee=30),
    ]
    payout = example(
        "payout",
        id="po_january",
        amount=955 - 300 + 2400 + 670,
        currency="eur",
        status="paid",
        arrival_date=JAN_10 + 3 * 86400,
        created=JAN_10 + 2 * 86400,
    )
    entries = [
        example(
            "balance_transaction",
            id="txn_ch_known",
            type="charge",
            source="ch_known",
            amount=1000,
            fee=45,
            net=955,
        ),
        example(
            "balance_transaction",
            id="txn_ch_missed",
            type="charge",
            source="ch_missed",
            amount=2500,
            fee=100,
            net=2400,
        ),
        example(
            "balance_transaction",
            id="txn_ch_stranger",
            type="charge",
            source="ch_stranger",
            amount=700,
            fee=30,
            net=670,
        ),
        example(
            "balance_transaction",
            id="txn_re_known",
            type="refund",
            source="re_known",
            amount=-300,
            fee=0,
            net=-300,
        ),
        example(
            "balance_transaction",
            id="txn_po",
            type="payout",
            source="po_january",
            amount=-3725,
            fee=0,
            net=-3725,
        ),
    ]
    fake = FakeStripeHTTP(
        {
            "/v1/charges": listing("/v1/charges", charges),
            "/v1/payouts": listing("/v1/payouts", [payout]),
            "/v1/balance_transactions?payout=po_january": listing(
                "/v1/balance_transactions", entries
            ),
        }
    )
    # The Stripe module hands this HTTP client to Stripe's library in place of the network.
    monkeypatch.setattr(StripeGateway, "http_client", fake)
    return fake, known, missed


def ledger_snapshot() -> dict:
    return {
        model.__name__: sorted(
            (model_to_dict(row) | {"updated_at": row.updated_at} for row in model.objects.all()),
            key=lambda row: row["id"],
        )
        for model in (Payment, Refund, Payout, Contribution)
    }


@pytest.mark.django_db
def test_backfill_closes_the_gaps_then_changes_nothing(
    stripe_account, django_capture_on_commit_callbacks
):
    fake, known, missed = stripe_account
    out = io.StringIO()
    with django_capture_on_commit_callbacks():
        call_command(
            "backfill_stripe", "--since", "2026-01-01", "--until", "2026-01-31", stdout=out
        )

    # The request asked Stripe for the period in the publisher's time zone, expanded.
    method, path, query = fake.requests[0]
    assert (method, path) == ("get", "/v1/charges")
    start = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp())  # London is on UTC in January
    end = int(dt.datetime(2026, 2, 1, tzinfo=dt.UTC).timestamp())
    assert query["created[gte]"] == [str(start)] and query["created[lt]"] == [str(end)]
    assert "data.balance_transaction" in query["expand[0]"] + query.get("expand[1]", [])

    known.refresh_from_db()
    assert (known.fee_minor, known.net_minor, known.stripe_balance_transaction_id) == (
        45,
        955,
        "txn_ch_known",
    )
    assert known.payment_method_type == "card"
    assert known.stripe_payout_id == "po_january"
    assert known.refunded_minor == 300
    refund = Refund.objects.get()
    assert (refund.stripe_refund_id, refund.amount_minor, refund.stripe_payout_id) == (
        "re_known",
        300,
        "po_january",
    )

    recovered = Payment.objects.get(stripe_charge_id="ch_missed")
    assert recovered.contribution == missed
    assert (recovered.gross_minor, recovered.fee_minor, recovered.net_minor) == (2500, 100, 2400)
    assert recovered.status == Payment.Status.SUCCEEDED
    assert recovered.stripe_payout_id == "po_january"
    missed.refresh_from_db()
    assert missed.status == Contribution.Status.PAID and missed.first_paid_at is not None

    assert not Payment.objects.filter(stripe_charge_id="ch_stranger").exists()
    assert "ch_stranger" in out.getvalue()

    payout = payouts_reconciled().get(stripe_payout_id="po_january")
    assert payout.arrival_date == dt.date(2026, 1, 13)
    # The unmatched charge's 6.70 is the flagged difference until someone places it.
    assert payout.difference == 670

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
def test_backfill_ties_a_dispute_withdrawal_to_its_payout(settings, monkeypatch):
    settings.STRIPE_SECRET_KEY = "sk_test_backfill"
    disputed = give(
        paid_at=dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC),
        gross=2000,
        fee=80,
        stripe_charge_id="ch_disputed",
        stripe_payout_id="po_earlier",
    )
    dispute = DisputeFactory.create(
        payment=disputed, stripe_dispute_id="dp_lost", amount_minor=2000, fee_minor=0
    )
    payout = example(
        "payout",
        id="po_withdrawal",
        amount=-3500,
        currency="eur",
        status="paid",
        arrival_date=JAN_10 + 5 * 86400,
        created=JAN_10 + 4 * 86400,
    )
    entries = [
        example(
            "balance_transaction",
            id="txn_dp",
            type="adjustment",
            source="dp_lost",
            amount=-2000,
            fee=1500,
            net=-3500,
        ),
    ]
    fake = FakeStripeHTTP(
        {
            "/v1/charges": listing("/v1/charges", []),
            "/v1/payouts": listing("/v1/payouts", [payout]),
            "/v1/balance_transactions?payout=po_withdrawal": listing(
                "/v1/balance_transactions", entries
            ),
        }
    )
    monkeypatch.setattr(StripeGateway, "http_client", fake)

    call_command(
        "backfill_stripe", "--since", "2026-01-01", "--until", "2026-01-31", stdout=io.StringIO()
    )

    dispute.refresh_from_db()
    assert (dispute.stripe_payout_id, dispute.fee_minor) == ("po_withdrawal", 1500)
    reconciled = payouts_reconciled().get(stripe_payout_id="po_withdrawal")
    assert (reconciled.disputes_total, reconciled.difference) == (3500, 0)
