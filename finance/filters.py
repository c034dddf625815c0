"""The report filters: one form validates them for the admin, the command and stored jobs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings

from campaigns.models import Campaign, Currency, Frequency
from payments.models import Payment


class DateBasis:
    PAYMENT = "payment"
    PAYOUT = "payout"
    CHOICES = [(PAYMENT, "payment date"), (PAYOUT, "payout arrival date")]


def publisher_tz() -> ZoneInfo:
    return ZoneInfo(settings.PUBLISHER_TIME_ZONE)


@dataclasses.dataclass(frozen=True)
class ReportFilters:
    """What to report on. Dates are calendar days in the publisher's time zone, both included."""

    since: dt.date | None = None
    until: dt.date | None = None
    date_basis: str = DateBasis.PAYMENT
    currency: str = ""
    frequency: str = ""
    campaign: str = ""  # campaign slug
    variant: str = ""
    status: str = ""
    payment_method: str = ""

    def start(self) -> dt.datetime | None:
        """Return the first instant of the period (aware, publisher's time zone)."""
        if self.since is None:
            return None
        return dt.datetime.combine(self.since, dt.time.min, tzinfo=publisher_tz())

    def end(self) -> dt.datetime | None:
        """Return the first instant after the period."""
        if self.until is None:
            return None
        return dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time.min, publisher_tz())

    def as_json(self) -> dict[str, str]:
        """Return the non-empty filters as JSON-ready strings (for jobs and the audit)."""
        out: dict[str, str] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value in (None, ""):
                continue
            out[field.name] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportFilters:
        form = ReportFilterForm(data)
        if not form.is_valid():
            raise ValueError(f"Stored filters are no longer valid: {form.errors.as_text()}")
        return form.filters()

    def describe(self) -> str:
        """Return the filters in words, for file headers and e-mails."""
        parts = []
        if self.since or self.until:
            basis = dict(DateBasis.CHOICES)[self.date_basis]
            parts.append(f"{basis} {self.since or '…'} to {self.until or '…'}")
        for name in ("currency", "frequency", "campaign", "variant", "status", "payment_method"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name.replace('_', ' ')} {value}")
        return ", ".join(parts) or "everything"


class CurrencyField(forms.ChoiceField):
    """A currency choice that accepts lower case ("eur") too."""

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).upper()


class ReportFilterForm(forms.Form):
    since = forms.DateField(required=False, label="From", help_text="YYYY-MM-DD, included")
    until = forms.DateField(required=False, label="To", help_text="YYYY-MM-DD, included")
    date_basis = forms.ChoiceField(
        choices=DateBasis.CHOICES, required=False, initial=DateBasis.PAYMENT, label="Period by"
    )
    currency = CurrencyField(choices=[("", "any"), *Currency.choices], required=False)
    frequency = forms.ChoiceField(choices=[("", "any"), *Frequency.choices], required=False)
    campaign = forms.SlugField(required=False, help_text="campaign slug")
    variant = forms.CharField(required=False, max_length=40)
    status = forms.ChoiceField(choices=[("", "any"), *Payment.Status.choices], required=False)
    payment_method = forms.CharField(
        required=False, max_length=40, help_text="Stripe's type, e.g. card, sepa_debit"
    )

    def clean_campaign(self) -> str:
        slug = self.cleaned_data.get("campaign") or ""
        if slug and not Campaign.objects.filter(slug=slug).exists():
            raise forms.ValidationError(f"There is no campaign with the slug “{slug}”.")
        return str(slug)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The start of the period is after its end.")
        return data

    def filters(self) -> ReportFilters:
        data = self.cleaned_data
        return ReportFilters(
            since=data.get("since"),
            until=data.get("until"),
            date_basis=data.get("date_basis") or DateBasis.PAYMENT,
            currency=data.get("currency") or "",
            frequency=data.get("frequency") or "",
            campaign=data.get("campaign") or "",
            variant=data.get("variant") or "",
            status=data.get("status") or "",
            payment_method=data.get("payment_method") or "",
        )
