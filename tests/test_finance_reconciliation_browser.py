"""What finance sees of payout reconciliation, in headless Chromium: the list with each payout's
state (reconciled, needs a look, manual) and a payout's page listing its balance transactions
matched to the ledger. Screenshots (desktop and 390x844) land in var/screenshots/."""

import datetime as dt

import pytest
from django.core.management import call_command

from payments.models import Payout, PayoutBalanceTransaction
from staff.roles import FINANCE
from staff.tests.helpers import staff_member
from tests.axe import DESKTOP, PHONE, screenshot
from tests.finance_factories import PayoutFactory, give

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
UTC = dt.UTC


def rows(payout: Payout, *entries: tuple[str, str, str, str, int, int]) -> None:
    for txn_id, kind, category, source, amount, fee in entries:
        PayoutBalanceTransaction.objects.create(
            payout=payout,
            stripe_balance_transaction_id=txn_id,
            type=kind,
            reporting_category=category,
            source_id=source,
            amount_minor=amount,
            fee_minor=fee,
            net_minor=amount - fee,
            currency="EUR",
            available_on=dt.datetime(2026, 3, 3, tzinfo=UTC),
        )


@pytest.fixture
def payouts(transactional_db):
    paid = give(
        paid_at=dt.datetime(2026, 3, 1, 12, tzinfo=UTC),
        gross=1000,
        fee=40,
        stripe_charge_id="ch_ada",
        stripe_balance_transaction_id="txn_ada",
    )
    week = PayoutFactory.create(
        stripe_payout_id="po_week", amount_minor=925, reconciliation_status="completed"
    )
    rows(
        week,
        ("txn_ada", "charge", "charge", "ch_ada", 1000, 40),
        ("txn_billing", "stripe_fee", "fee", "", -35, 0),
        ("txn_po_week", "payout", "payout", "po_week", -925, 0),
    )
    paid.stripe_payout_id = "po_week"
    paid.save(update_fields=["stripe_payout_id"])
    short = PayoutFactory.create(
        stripe_payout_id="po_short", amount_minor=700, reconciliation_status="completed"
    )
    rows(
        short,
        ("txn_stranger", "charge", "charge", "ch_stranger", 700, 0),
        ("txn_po_short", "payout", "payout", "po_short", -700, 0),
    )
    PayoutFactory.create(
        stripe_payout_id="po_manual",
        amount_minor=5000,
        automatic=False,
        reconciliation_status="not_applicable",
    )
    return week, short


def test_payout_reconciliation_list_and_page(page, live_server, payouts):
    week, short = payouts
    call_command("roles_sync")  # a transactional test starts with the groups flushed
    staff_member(FINANCE, username="finance")
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("finance")
    page.get_by_label("Password").fill("x")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/admin/finance/payoutreconciliation/")
    table = page.locator("#result_list")
    assert table.get_by_text("reconciled: its transactions and the ledger agree").is_visible()
    assert table.get_by_text("⚠ 1 not in the ledger").is_visible()
    assert table.get_by_text("manual payout: Stripe lists no transactions for it").is_visible()
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        screenshot(page, f"admin-payout-reconciliation-list-{label}")

    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/admin/finance/payoutreconciliation/{short.pk}/change/")
    assert page.get_by_text("⚠ no payment for ch_stranger").is_visible()
    page.goto(f"{live_server.url}/admin/finance/payoutreconciliation/{week.pk}/change/")
    assert page.get_by_text("Stripe only: Stripe fee (Billing, Radar...)").is_visible()
    assert page.get_by_text("✓ payment").first.is_visible()
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        screenshot(page, f"admin-payout-reconciliation-page-{label}")
