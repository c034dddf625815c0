from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

HONEYPOT_FIELD = "website"


class HoneypotInput(forms.TextInput):
    """A field people never see (hidden off-screen, skipped by keyboard and screen readers)."""

    def __init__(self) -> None:
        super().__init__(
            attrs={
                "autocomplete": "off",
                "tabindex": "-1",
                "aria-hidden": "true",
                "class": "rs-honeypot",
                "style": "position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden",
            }
        )


class HoneypotMixin(forms.Form):
    """Add a field only bots fill in; a filled one makes the form invalid."""

    website = forms.CharField(required=False, label=_("Leave this empty"), widget=HoneypotInput())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get(HONEYPOT_FIELD):
            raise forms.ValidationError(
                _("We could not accept this form. Please try again."), code="honeypot"
            )
        return cleaned
