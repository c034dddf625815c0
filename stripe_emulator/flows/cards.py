"""Stripe's documented test payment methods, and what each does in the emulator.

Card numbers and IBANs from Stripe's testing page (docs.stripe.com/testing): a checkout paid with
one of them behaves here as it does in Stripe's test mode.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decline:
    code: str  # the charge's failure_code
    decline_code: str
    message: str


@dataclass(frozen=True)
class MethodSpec:
    number: str
    kind: str  # card | sepa_debit
    brand: str = "visa"
    country: str = "US"
    decline: Decline | None = None
    authentication: bool = False  # 3-D Secure asked for
    dispute: str | None = None  # a dispute opens after the payment: its reason
    inquiry: bool = False  # the dispute is an inquiry (warning_needs_response)
    refund_fails: bool = False  # refunds succeed, then fail later
    charge_fails_later: bool = False  # attaches fine, later charges are declined

    @property
    def last4(self) -> str:
        return self.number[-4:]


GENERIC_DECLINE = Decline("card_declined", "generic_decline", "Your card was declined.")
INSUFFICIENT_FUNDS = Decline(
    "card_declined", "insufficient_funds", "Your card has insufficient funds."
)
SEPA_FAILED = Decline(
    "insufficient_funds",
    "insufficient_funds",
    "The customer's account has insufficient funds to cover this payment.",
)

SUCCESS = "4242424242424242"
DECLINED = "4000000000000002"
INSUFFICIENT = "4000000000009995"
AUTHENTICATE = "4000002500003155"
DISPUTED_FRAUD = "4000000000000259"
DISPUTED_INQUIRY = "4000000000001976"
REFUND_FAILS = "4000000000005126"
CHARGES_FAIL_LATER = "4000000000000341"
SEPA_SUCCESS = "DE89370400440532013000"
SEPA_FAILS = "DE62370400440532013001"

METHODS: dict[str, MethodSpec] = {
    SUCCESS: MethodSpec(SUCCESS, "card"),
    DECLINED: MethodSpec(DECLINED, "card", decline=GENERIC_DECLINE),
    INSUFFICIENT: MethodSpec(INSUFFICIENT, "card", decline=INSUFFICIENT_FUNDS),
    AUTHENTICATE: MethodSpec(AUTHENTICATE, "card", authentication=True),
    DISPUTED_FRAUD: MethodSpec(DISPUTED_FRAUD, "card", dispute="fraudulent"),
    DISPUTED_INQUIRY: MethodSpec(DISPUTED_INQUIRY, "card", dispute="general", inquiry=True),
    REFUND_FAILS: MethodSpec(REFUND_FAILS, "card", refund_fails=True),
    CHARGES_FAIL_LATER: MethodSpec(CHARGES_FAIL_LATER, "card", charge_fails_later=True),
    SEPA_SUCCESS: MethodSpec(SEPA_SUCCESS, "sepa_debit", brand="", country="DE"),
    SEPA_FAILS: MethodSpec(SEPA_FAILS, "sepa_debit", brand="", country="DE", decline=SEPA_FAILED),
}


def method_lookup(number: str) -> MethodSpec | None:
    """Return the test card or IBAN for what the reader typed (spaces ignored), or None."""
    digits = "".join(ch for ch in number.upper() if ch.isalnum())
    return METHODS.get(digits)
