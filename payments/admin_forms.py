"""Staff forms in the admin; every message says what was wrong in plain words."""

from __future__ import annotations

from typing import Any

from django import forms

from payments.gateway import RefundReason
from payments.models import Payment
from payments.money import MoneyParseError, money_example, money_format, money_parse

REFUND_REASONS: dict[RefundReason, str] = {
    "requested_by_customer": "Requested by the supporter",
    "duplicate": "Duplicate payment",
    "fraudulent": "Fraudulent (Stripe also blocks the card and e-mail address)",
}


def payment_refund_refusal(payment: Payment) -> str:
    """Return why no part of this payment can be refunded, or "" when some of it can."""
    if payment.status != Payment.Status.SUCCEEDED or not payment.stripe_payment_intent_id:
        return (
            f"Only a payment that succeeded can be refunded; payment {payment.pk} is "
            f"{payment.get_status_display().lower()}."
        )
    if payment.refundable_minor <= 0:
        return f"Payment {payment.pk} has been refunded in full already."
    return ""


class PartialRefundForm(forms.Form):
    """How much of one payment to give back, in the payment's currency, and why."""

    amount = forms.CharField(
        label="Amount to refund",
        max_length=20,
        error_messages={"required": "Enter the amount to refund."},
    )
    reason = forms.ChoiceField(
        label="Reason",
        choices=list(REFUND_REASONS.items()),
        initial="requested_by_customer",
        error_messages={"invalid_choice": "Choose one of the reasons listed."},
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you are refunding, for finance and support; the supporter does not see it.",
        error_messages={"max_length": "Keep the note under %(limit_value)d characters."},
    )

    def __init__(self, *args: Any, payment: Payment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.example = money_example(payment.currency)
        self.fields["amount"].label = f"Amount to refund ({payment.currency})"
        self.fields["amount"].help_text = (
            f"In {payment.currency}, like {self.example}. At most "
            f"{money_format(payment.refundable_minor, payment.currency)} is left to refund."
        )

    def clean_amount(self) -> int:
        """Return the amount in minor units, checked against what is left of the payment."""
        currency = self.payment.currency
        try:
            minor = money_parse(self.cleaned_data["amount"], currency=currency)
        except MoneyParseError as error:
            raise forms.ValidationError(str(error)) from error
        if minor <= 0:
            raise forms.ValidationError("The amount to refund must be more than zero.")
        left = self.payment.refundable_minor
        if minor > left:
            paid = money_format(self.payment.gross_minor, currency)
            refunded = money_format(self.payment.refunded_minor, currency)
            raise forms.ValidationError(
                f"At most {money_format(left, currency)} can be refunded: {paid} was paid and "
                f"{refunded} has been refunded already."
            )
        return minor

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        refusal = payment_refund_refusal(self.payment)
        if refusal:
            raise forms.ValidationError(refusal)
        return cleaned
