"""A charge in EUR settled in GBP (the emulator's account settles in GBP): the ledger keeps both
sides as Stripe has them, and the reports and payout reconciliation add settlement money only
to settlement money."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from finance.filters import ReportFilters
from finance.reconciliation import payouts_reconciled
from finance.selectors import monthly_summary
from payments.models import Payout, Refund
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from stripe_emulator.flows import refunds as stripe_refunds

pytestmark = pytest.mark.django_db


@pytest.fixture(name="gbp_account")
def gbp_account_fixture(emulated):
    """The emulator's account settles in GBP only: EUR charges are converted."""
    emulated.emulator.default_currency = "gbp"
    emulated.emulator.settlement_currencies = {"gbp"}
    return emulated


def charge_and_txn(emulated, payment):
    charge = emulated.emulator.get(payment.stripe_charge_id)
    return charge, emulated.emulator.get(charge["balance_transaction"])


def test_a_eur_charge_settled_in_gbp_keeps_both_sides(gbp_account):
    payment = gbp_account.give().payments.get()
    charge, txn = charge_and_txn(gbp_account, payment)
    assert (charge["currency"], txn["currency"]) == ("eur", "gbp")  # the emulator converted

    assert (payment.gross_minor, payment.currency) == (1000, "EUR")
    assert (
        payment.settlement_amount_minor,
        payment.fee_minor,
        payment.net_minor,
        payment.settlement_currency,
    ) == (txn["amount"], txn["fee"], txn["net"], "GBP")
    assert payment.exchange_rate == Decimal(str(txn["exchange_rate"]))


def test_reports_add_settlement_money_only_to_settlement_money(gbp_account):
    payment = gbp_account.give().payments.get()
    _, txn = charge_and_txn(gbp_account, payment)
    mark = gbp_account.emulator.events_mark()
    refund = stripe_refunds.refund_create(
        gbp_account.emulator, charge_id=payment.stripe_charge_id, amount=400
    )
    gbp_account.deliver(gbp_account.emulator.events(since=mark))
    refund_txn = gbp_account.emulator.get(refund["balance_transaction"])
    assert Refund.objects.get().settlement_net_minor == refund_txn["net"] < 0

    today = timezone.localdate()
    rows = {
        row.currency: row
        for row in monthly_summary(filters=ReportFilters(since=today, until=today))
    }

    assert set(rows) == {"EUR", "GBP"}
    eur, gbp = rows["EUR"], rows["GBP"]
    assert (eur.gross, eur.payments, eur.fees, eur.net, eur.refunds) == (1000, 1, 0, 0, 0)
    assert (gbp.gross, gbp.fees, gbp.net) == (0, txn["fee"], txn["net"])
    assert gbp.refunds == -refund_txn["net"]
    assert gbp.net_after_refunds_and_disputes == txn["net"] + refund_txn["net"]


def test_a_gbp_payout_reconciles_against_the_settlement_amounts(gbp_account):
    payment = gbp_account.give().payments.get()
    _, txn = charge_and_txn(gbp_account, payment)
    mark = gbp_account.emulator.events_mark()
    refund = stripe_refunds.refund_create(
        gbp_account.emulator, charge_id=payment.stripe_charge_id, amount=400
    )
    gbp_account.deliver(gbp_account.emulator.events(since=mark))
    refund_txn = gbp_account.emulator.get(refund["balance_transaction"])
    payout = Payout.objects.create(
        stripe_payout_id="po_gbp",
        amount_minor=txn["net"] + refund_txn["net"],
        currency="GBP",
        arrival_date=dt.date.today(),
        status="paid",
        stripe_created_at=timezone.now(),
    )
    payment.stripe_payout_id = payout.stripe_payout_id
    payment.save(update_fields=["stripe_payout_id"])
    Refund.objects.update(stripe_payout_id=payout.stripe_payout_id)

    reconciled = payouts_reconciled(Payout.objects.filter(pk=payout.pk)).get()

    assert reconciled.refunds_total == -refund_txn["net"]
    assert reconciled.difference == 0


def test_the_payments_export_names_the_currency_fee_and_net_are_in(gbp_account):
    from finance.services import CsvExport

    payment = gbp_account.give().payments.get()
    export = CsvExport(kind="payments", filters=ReportFilters())
    lines = b"".join(export).decode("utf-8-sig").splitlines()
    header, row = lines[0].split(","), lines[1].split(",")
    cells = dict(zip(header, row, strict=True))

    assert (cells["currency"], cells["gross"]) == ("EUR", "10.00")
    assert cells["settlement currency"] == "GBP"
    assert cells["net"] == f"{payment.net_minor / 100:.2f}"
