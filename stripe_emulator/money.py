"""Money reaching the balance: fees, currency conversion and balance transactions.

A charge in a currency the account does not settle in is converted into the account's default
currency at the emulator's rate, and Stripe's 2% conversion fee is added to the processing fee;
the balance transaction then carries `exchange_rate` and the settlement currency, as Stripe's do.
"""

from __future__ import annotations

from stripe_emulator.core import Emulator
from stripe_emulator.objects import Obj

DAY = 86400
# Stripe's standard European pricing: cards 1.5% + 0.25, SEPA Direct Debit 0.35 flat.
CARD_PERCENT = 1.5
CARD_FIXED_MINOR = 25
SEPA_FIXED_MINOR = 35
FX_FEE_PERCENT = 2.0
# Card payments become available two days later, SEPA Direct Debit ones seven.
AVAILABLE_AFTER_DAYS = {"card": 2, "sepa_debit": 7}

REPORTING_CATEGORIES = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "refund_failure": "refund_failure",
    "adjustment": "dispute",
    "payout": "payout",
    "stripe_fee": "fee",
    "stripe_fx_fee": "fee",
    "payout_failure": "payout_reversal",
    "payment_failure_refund": "payment_failure_refund",
}


def processing_fee(*, amount: int, method: str) -> int:
    """Return Stripe's processing fee for a payment of `amount` by `method`, same currency."""
    if method == "sepa_debit":
        return SEPA_FIXED_MINOR
    return round(amount * CARD_PERCENT / 100) + CARD_FIXED_MINOR


def settlement(emulator: Emulator, currency: str) -> tuple[str, float | None]:
    """Return the currency money in `currency` settles in, and the rate (None: no conversion)."""
    if currency in emulator.settlement_currencies:
        return currency, None
    target = emulator.default_currency
    return target, emulator.fx_rate(currency, target)


def fee_detail(amount: int, currency: str, description: str) -> Obj:
    return {
        "amount": amount,
        "application": None,
        "currency": currency,
        "description": description,
        "type": "stripe_fee",
    }


def balance_transaction_create(
    emulator: Emulator,
    *,
    amount: int,
    currency: str,
    txn_type: str,
    source: str | None,
    fee: int = 0,
    available_after_days: float = 0,
    description: str | None = None,
    reporting_category: str | None = None,
) -> Obj:
    """Create a balance transaction of `amount` in `currency` (converted if the account does not
    settle in it), with `fee` given in the original currency."""
    target, rate = settlement(emulator, currency)
    settled = round(amount * rate) if rate is not None else amount
    fee_settled = round(fee * rate) if rate is not None else fee
    details = [fee_detail(fee_settled, target, "Stripe processing fees")] if fee_settled else []
    if rate is not None and txn_type in ("charge", "payment"):
        fx_fee = round(abs(settled) * FX_FEE_PERCENT / 100)
        fee_settled += fx_fee
        details.append(fee_detail(fx_fee, target, "Stripe currency conversion fee"))
    now = emulator.now()
    available_on = now + int(available_after_days * DAY)
    return emulator.create(
        "balance_transaction",
        amount=settled,
        available_on=available_on,
        currency=target,
        description=description,
        exchange_rate=rate,
        fee=fee_settled,
        fee_details=details,
        net=settled - fee_settled,
        reporting_category=reporting_category or REPORTING_CATEGORIES.get(txn_type, txn_type),
        source=source,
        status="available" if available_on <= now else "pending",
        type=txn_type,
    )
