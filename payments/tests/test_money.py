"""One home for amounts people type: the parser and every form that takes an amount agree on a
shared corpus of hard cases."""

import pytest

from payments.admin_forms import PartialRefundForm
from payments.forms import AmountChangeForm
from payments.models import Payment
from payments.money import MoneyParseError, money_format, money_major_text, money_parse

AS_A_NUMBER = "Enter the amount as a number in EUR, like 12.50."
# (typed, minor units or the one message the person sees)
CORPUS: list[tuple[str, int | str]] = [
    ("12", 1200),
    ("12.5", 1250),
    ("12.50", 1250),
    ("12,50", 1250),
    (" €12.50 ", 1250),
    ("12.50€", 1250),
    ("EUR 12.50", 1250),
    ("0012.50", 1250),
    ("1000", 100000),
    ("1e3", AS_A_NUMBER),
    ("1E3", AS_A_NUMBER),
    ("abc", AS_A_NUMBER),
    ("ten", AS_A_NUMBER),
    ("NaN", AS_A_NUMBER),
    ("sNaN", AS_A_NUMBER),
    ("inf", AS_A_NUMBER),
    ("Infinity", AS_A_NUMBER),
    ("-5", AS_A_NUMBER),
    ("+5", AS_A_NUMBER),
    ("0x10", AS_A_NUMBER),
    ("1_000", AS_A_NUMBER),
    ("1 000", AS_A_NUMBER),
    ("1,000.00", AS_A_NUMBER),
    ("12.", AS_A_NUMBER),
    (".50", AS_A_NUMBER),
    ("١٢", AS_A_NUMBER),  # digits of another script: not what the reader sees echoed back
    ("12.505", "EUR amounts have at most 2 decimal places."),
    ("1,000", "Write the amount without a thousands separator, like 12.50."),
    ("$12", AS_A_NUMBER),  # another currency's symbol
    ("9999999999", AS_A_NUMBER),
]


@pytest.mark.parametrize(("typed", "expected"), CORPUS)
def test_money_parse(typed, expected):
    if isinstance(expected, int):
        assert money_parse(typed, currency="EUR") == expected
    else:
        with pytest.raises(MoneyParseError) as raised:
            money_parse(typed, currency="EUR")
        assert str(raised.value) == expected


def test_negative_amounts_put_the_sign_first():
    assert money_format(-3500, "EUR") == "-€35.00"
    assert money_format(123456, "EUR") == "€1,234.56"


def test_major_text_round_trips():
    assert money_major_text(1250, "EUR") == "12.50"
    assert money_parse(money_major_text(123456, "EUR"), currency="EUR") == 123456


@pytest.mark.parametrize(("typed", "expected"), CORPUS)
def test_the_amount_change_form_uses_it(typed, expected, settings):
    settings.PAYMENTS_AMOUNT_LIMITS = {"EUR": (1, 10**12)}
    form = AmountChangeForm({"amount": typed}, currency="EUR")

    if isinstance(expected, int):
        assert form.is_valid(), form.errors
        assert form.cleaned_data["amount"] == expected
    else:
        assert not form.is_valid()
        assert form.errors["amount"] == [expected]


@pytest.mark.parametrize(("typed", "expected"), CORPUS)
def test_the_refund_form_uses_it(typed, expected):
    payment = Payment(
        gross_minor=10**12,
        refunded_minor=0,
        currency="EUR",
        status=Payment.Status.SUCCEEDED,
        stripe_payment_intent_id="pi_test",
    )
    form = PartialRefundForm({"amount": typed, "reason": "duplicate"}, payment=payment)

    if isinstance(expected, int):
        assert form.is_valid(), form.errors
        assert form.cleaned_data["amount"] == expected
    else:
        assert not form.is_valid()
        assert form.errors["amount"] == [expected]
