"""Reader-facing forms; every message says what was wrong in plain words."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from antiabuse.honeypot import HoneypotMixin
from antiabuse.reader_urls import ReaderUrlField, reader_url_clean
from campaigns.models import Campaign, Frequency, Variant
from config.url_ids import slug_or_empty
from payments.money import MoneyParseError, fee_cover_minor, money_format, money_parse

ATTRIBUTION_FIELDS = (
    "variant",
    "placement",
    "article",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
)
PLACEMENTS = {"banner", "epic", "survey"}


def variant_offered(campaign: Campaign, variant_key: str) -> Variant | None:
    """Return the campaign's A/B variant of this key, or None (no key, or an unknown one).
    Reads the campaign's variants once (`campaign.variants.all()`, prefetched by the support
    page), however often a request asks."""
    if not variant_key:
        return None
    return next((v for v in campaign.variants.all() if v.key == variant_key), None)


def amounts_offered(campaign: Campaign, variant_key: str = "") -> dict[str, Any]:
    """Return the amounts the reader was offered: their A/B variant's own when it has some
    (a variant may test other amounts), else the campaign's."""
    variant = variant_offered(campaign, variant_key)
    if variant is not None and variant.amounts:
        return dict(variant.amounts)
    return dict(campaign.amounts or {})


def frequencies_offered(amounts: dict[str, Any]) -> list[str]:
    """Return the frequencies `amounts` offers, in display order."""
    return [f.value for f in Frequency if isinstance(amounts.get(f.value), dict)]


def campaign_frequencies(campaign: Campaign) -> list[str]:
    """Return the frequencies the campaign itself offers, in display order."""
    return frequencies_offered(campaign.amounts or {})


def presets_offered(amounts: dict[str, Any], frequency: str) -> tuple[list[int], int | None]:
    """Return the preset amounts of one frequency and the one to select first."""
    config = amounts.get(frequency) or {}
    presets = [int(p) for p in config.get("presets") or [] if str(p).isdecimal() and int(p) > 0]
    default = config.get("default")
    if str(default).isdecimal():
        return presets, int(str(default))
    return presets, presets[0] if presets else None


class SupportForm(HoneypotMixin, forms.Form):
    """How much, how often, and who: validated on the server against the campaign."""

    frequency = forms.ChoiceField(label="How often", widget=forms.RadioSelect)
    amount = forms.CharField(label="Amount", required=False, widget=forms.RadioSelect)
    custom_amount = forms.CharField(label="Other amount", required=False, max_length=12)
    cover_fees = forms.BooleanField(label="Cover the card fees", required=False)
    email = forms.EmailField(
        label="E-mail",
        max_length=254,
        error_messages={
            "required": "Please enter your e-mail address so we can send your receipt.",
            "invalid": "This does not look like an e-mail address. Please check it.",
        },
    )
    name = forms.CharField(label="Name (optional)", required=False, max_length=200)
    marketing_consent = forms.BooleanField(required=False)

    # Attribution, carried through hidden fields from the query string.
    variant = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    placement = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    article = ReaderUrlField()
    utm_source = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    utm_medium = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    utm_campaign = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    utm_content = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    utm_term = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    referrer = ReaderUrlField()

    def __init__(self, *args: Any, campaign: Campaign, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        # What the reader sent, not yet valid: an unknown variant offers the campaign's amounts.
        variant = self.data.get("variant") if self.is_bound else self.initial.get("variant")
        self.amounts = amounts_offered(campaign, slug_or_empty(str(variant or "")))
        labels = dict(Frequency.choices)
        frequency_field = self.fields["frequency"]
        assert isinstance(frequency_field, forms.ChoiceField)
        frequency_field.choices = [(f, labels[f]) for f in frequencies_offered(self.amounts)]
        frequency_field.error_messages["invalid_choice"] = "Please choose how often to give."
        self.fields["marketing_consent"].label = settings.PAYMENTS_MARKETING_CONSENT_TEXT
        low, high = self.limits
        self.fields["custom_amount"].help_text = (
            f"Between {money_format(low, campaign.currency)} and "
            f"{money_format(high, campaign.currency)}."
        )

    @property
    def limits(self) -> tuple[int, int]:
        return tuple(settings.PAYMENTS_AMOUNT_LIMITS.get(self.campaign.currency, (100, 500000)))  # type: ignore[return-value]

    def clean_custom_amount(self) -> int | None:
        raw = self.cleaned_data.get("custom_amount") or ""
        if not raw.strip():
            return None
        try:
            return money_parse(raw, currency=self.campaign.currency)
        except MoneyParseError as error:
            raise forms.ValidationError(str(error)) from error

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        frequency = cleaned.get("frequency")
        if not frequency or self.has_error("custom_amount"):
            return cleaned  # one message per mistake: what was typed is already explained
        presets, _default = presets_offered(self.amounts, frequency)
        custom = cleaned.get("custom_amount")
        chosen = cleaned.get("amount") or ""
        amount: int | None
        if custom is not None and (chosen in ("", "custom") or not chosen.isdecimal()):
            amount = custom
        elif chosen.isdecimal() and int(chosen) in presets:
            amount = int(chosen)
        elif chosen == "custom" or not chosen:
            self.add_error("custom_amount", "Please choose an amount or enter your own.")
            return cleaned
        else:
            self.add_error("amount", "Please choose one of the amounts shown or enter your own.")
            return cleaned
        low, high = self.limits
        currency = self.campaign.currency
        if amount < low:
            self.add_error(
                "custom_amount",
                f"The smallest amount we can accept is {money_format(low, currency)}.",
            )
        elif amount > high:
            self.add_error(
                "custom_amount",
                f"The largest amount we can accept online is {money_format(high, currency)}.",
            )
        cleaned["amount_minor"] = amount
        return cleaned

    def fee_text(self, amount_minor: int) -> str:
        return money_format(fee_cover_minor(amount_minor), self.campaign.currency)


def attribution_from(params: Any) -> dict[str, str]:
    """Read attribution query parameters, dropping what is invalid (never an error)."""
    result = {}
    for name in (*ATTRIBUTION_FIELDS, "referrer"):
        if name in ("article", "referrer"):
            result[name] = reader_url_clean(params.get(name))
            continue
        value = str(params.get(name) or "")[:200]
        if name == "placement" and value not in PLACEMENTS:
            value = ""
        if name == "variant":
            value = slug_or_empty(value)
        result[name] = value
    return result


class SignInRequestForm(HoneypotMixin, forms.Form):
    email = forms.EmailField(
        label="Your e-mail address",
        max_length=254,
        error_messages={
            "required": "Please enter the e-mail address you gave with your contribution.",
            "invalid": "This does not look like an e-mail address. Please check it.",
        },
    )


class AmountChangeForm(forms.Form):
    amount = forms.CharField(
        label="New amount",  # the page names the frequency: monthly or annual
        max_length=20,
        error_messages={"required": "Please enter the new amount."},
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self) -> int:
        try:
            minor = money_parse(self.cleaned_data["amount"], currency=self.currency)
        except MoneyParseError as error:
            raise forms.ValidationError(str(error)) from error
        low, high = settings.PAYMENTS_AMOUNT_LIMITS.get(self.currency, (100, 500000))
        if not low <= minor <= high:
            raise forms.ValidationError(
                f"Please choose an amount between {money_format(low, self.currency)} and "
                f"{money_format(high, self.currency)}."
            )
        return minor


class NameForm(forms.Form):
    name = forms.CharField(label="Name on your receipts", required=False, max_length=200)


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Would you tell us why? (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
