"""Amounts as editors think of them: one row per frequency, in the campaign's currency and major
units ("5, 10, 25"), never minor units or JSON. A campaign and each of its A/B variants are
edited through the same rows (`AmountRowsForm`)."""

from typing import Any

from django import forms

from campaigns.models import Campaign, Frequency, Variant
from payments.money import MoneyParseError, money_major_text, money_parse

MAX_PRESETS = 6
GOAL_FIELDS = ("goal_target", "goal_baseline")


def amounts_field(frequency: str) -> str:
    return f"amounts_{frequency}"


def default_field(frequency: str) -> str:
    return f"default_{frequency}"


def amount_row_fields() -> list[str]:
    """Return the rows' field names in display order (amounts, then suggested, per frequency)."""
    return [name for f in Frequency.values for name in (amounts_field(f), default_field(f))]


def _amounts_input() -> forms.CharField:
    return forms.CharField(required=False, max_length=200)


def _suggested_input() -> forms.CharField:
    return forms.CharField(
        label="suggested",
        required=False,
        max_length=20,
        help_text="Chosen when the page opens; one of the amounts (the first if empty).",
    )


class AmountRowsForm(forms.Form):
    """The amounts rows, and their translation to and from the stored `amounts`.

    `amounts` is {frequency: {"presets": [minor units], "default": minor units}}; a row left
    empty leaves its frequency out. What an empty set of rows means is the subclass's to say.
    """

    EMPTY_ROW_MEANS = "Leave empty not to offer this frequency."

    amounts_one_off = _amounts_input()
    default_one_off = _suggested_input()
    amounts_monthly = _amounts_input()
    default_monthly = _suggested_input()
    amounts_annual = _amounts_input()
    default_annual = _suggested_input()

    def amount_rows_show(self, amounts: dict[str, Any] | None, currency: str) -> None:
        """Fill the rows from stored amounts (minor units) as major units of `currency`."""
        for frequency, label in Frequency.choices:
            spec = (amounts or {}).get(frequency) or {}
            presets = spec.get("presets") or []
            row = self.fields[amounts_field(frequency)]
            row.label = f"{label}: amounts"
            row.help_text = (
                "In the campaign's currency, separated by commas, like 5, 10, 25. "
                + self.EMPTY_ROW_MEANS
            )
            self.initial.setdefault(
                amounts_field(frequency), ", ".join(money_major_text(p, currency) for p in presets)
            )
            if spec.get("default"):
                self.initial.setdefault(
                    default_field(frequency), money_major_text(spec["default"], currency)
                )

    def amount_rows_read(self, cleaned: dict[str, Any], currency: str) -> dict[str, Any] | None:
        """Return the rows as stored amounts (minor units), or None when a row is wrong (the
        row then carries a message saying why)."""
        amounts: dict[str, dict[str, Any]] = {}
        for frequency, label in Frequency.choices:
            spec = self._frequency_amounts(frequency, label, currency, cleaned)
            if spec is not None:
                amounts[frequency] = spec
        if any(name in self.errors for name in amount_row_fields()):
            return None
        return amounts

    def _frequency_amounts(
        self, frequency: str, label: str, currency: str, cleaned: dict[str, Any]
    ) -> dict[str, Any] | None:
        typed = [part.strip() for part in (cleaned.get(amounts_field(frequency)) or "").split(",")]
        typed = [part for part in typed if part]
        if not typed:  # a suggested amount left behind in an emptied row does not matter
            return None
        try:
            presets = [money_parse(part, currency=currency) for part in typed]
        except MoneyParseError as error:
            self.add_error(amounts_field(frequency), str(error))
            return None
        if not 1 <= len(presets) <= MAX_PRESETS or min(presets) <= 0:
            self.add_error(
                amounts_field(frequency), f"Give 1 to {MAX_PRESETS} amounts, each more than zero."
            )
            return None
        suggested_text = (cleaned.get(default_field(frequency)) or "").strip()
        if not suggested_text:
            return {"presets": presets, "default": presets[0]}
        try:
            suggested = money_parse(suggested_text, currency=currency)
        except MoneyParseError as error:
            self.add_error(default_field(frequency), str(error))
            return None
        if suggested not in presets:
            self.add_error(
                default_field(frequency),
                f"The suggested {label.lower()} amount must be one of the amounts.",
            )
            return None
        return {"presets": presets, "default": suggested}


class CampaignAdminForm(AmountRowsForm, forms.ModelForm[Campaign]):
    # Goals too: money in the campaign's currency and major units, supporters as a count.
    goal_target = forms.CharField(
        max_length=20,
        initial="0",
        help_text="Money: in the campaign's currency, like 5000. Supporters: how many.",
    )
    goal_baseline = forms.CharField(
        max_length=20,
        initial="0",
        help_text="Progress made before this service counted, in the same unit as the goal.",
    )

    class Meta:
        model = Campaign
        exclude = ["amounts"]  # noqa: DJ006 - edited as rows; the admin's fieldsets list the rest

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        currency = self.instance.currency or "EUR"
        self.amount_rows_show(self.instance.amounts, currency)
        if self.instance.pk and self.instance.goal_kind == Campaign.GoalKind.MONEY:
            for name in GOAL_FIELDS:
                self.initial[name] = money_major_text(getattr(self.instance, name), currency)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        currency = cleaned.get("currency") or self.instance.currency or "EUR"
        amounts = self.amount_rows_read(cleaned, currency)
        for name in GOAL_FIELDS:
            self._goal_clean(name, cleaned, currency)
        if amounts == {}:
            self.add_error(
                amounts_field(Frequency.ONE_OFF), "Offer at least one frequency: give its amounts."
            )
        elif amounts is not None:
            self.instance.amounts = amounts
        return cleaned

    def _goal_clean(self, name: str, cleaned: dict[str, Any], currency: str) -> None:
        text = str(cleaned.get(name) or "0").strip()
        if cleaned.get("goal_kind") == Campaign.GoalKind.MONEY:
            try:
                cleaned[name] = money_parse(text, currency=currency)
            except MoneyParseError as error:
                self.add_error(name, str(error))
        elif text.isdigit() and text.isascii():
            cleaned[name] = int(text)
        else:
            self.add_error(name, "Enter a whole number of supporters, like 7500.")

    def _update_errors(self, errors: Any) -> None:
        # The model's own rule about `amounts` is shown on the first row, where it is edited.
        if hasattr(errors, "error_dict") and "amounts" in errors.error_dict:
            said = errors.error_dict.pop("amounts")
            first_row = amounts_field(Frequency.ONE_OFF)
            if first_row not in self.errors:  # one message per mistake
                errors.error_dict[first_row] = said
            if not errors.error_dict:
                return
        super()._update_errors(errors)  # type: ignore[misc]  # not in the stubs


class VariantAdminForm(AmountRowsForm, forms.ModelForm[Variant]):
    """A variant's amounts as rows in its campaign's currency; all rows empty: the campaign's.

    The campaign comes from the inline's formset (`VariantFormSet`): on a post it carries the
    currency just chosen on the same page, so amounts are read in the currency they were typed in.
    """

    EMPTY_ROW_MEANS = "Leave every row empty to use the campaign's amounts."

    class Meta:
        model = Variant
        exclude = ["amounts"]  # noqa: DJ006 - edited as rows; the inline's fieldsets list the rest

    def __init__(self, *args: Any, campaign: Campaign | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.amount_rows_show(self.instance.amounts, self._currency())

    def _currency(self) -> str:
        return (self.campaign.currency if self.campaign is not None else "") or "EUR"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        amounts = self.amount_rows_read(cleaned, self._currency())
        if amounts is not None:
            self.instance.amounts = amounts
        return cleaned
