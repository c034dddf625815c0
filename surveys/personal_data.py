"""One place that knows every app holding personal data about an e-mail address.

`manage.py personal_data <export|erase> <email>` walks `personal_data_sources()`. Surveys is
built in. Contributions plug in through `PAYMENTS_HOOK_MODULE`: when the payments app provides a
module there with `personal_data_export(*, email) -> dict` and `personal_data_erase(*, email) ->
dict`, it is used; until then `payments_ledger_export` / `payments_ledger_erase` below read the
payments ledger directly. Either way finance records are anonymised, never deleted.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps

from surveys.services.personal_data import (
    surveys_personal_data_erase,
    surveys_personal_data_export,
)

PAYMENTS_HOOK_MODULE = "payments.personal_data"


@dataclass(frozen=True)
class PersonalDataSource:
    name: str
    export: Callable[..., dict[str, Any]]
    erase: Callable[..., dict[str, Any]]


def payments_source() -> PersonalDataSource | None:
    """Return the contributions' source: the payments app's own hook module when it has one."""
    try:
        module = importlib.import_module(PAYMENTS_HOOK_MODULE)
    except ModuleNotFoundError as error:
        if error.name != PAYMENTS_HOOK_MODULE:
            raise
    else:
        return PersonalDataSource(
            name="payments", export=module.personal_data_export, erase=module.personal_data_erase
        )
    if not apps.is_installed("payments") or "supporter" not in apps.all_models["payments"]:
        return None
    return PersonalDataSource(
        name="payments", export=payments_ledger_export, erase=payments_ledger_erase
    )


def _supporters(email: str) -> Any:
    supporter_model = apps.get_model("payments", "Supporter")
    return supporter_model.objects.filter(email__iexact=email.strip())


def payments_ledger_export(*, email: str) -> dict[str, Any]:
    """Return the supporter records, contributions, payments and receipts for this address."""
    supporters = _supporters(email).prefetch_related("contributions__payments__receipt_sends")
    exported = []
    for supporter in supporters:
        contributions = []
        for contribution in supporter.contributions.all():
            contributions.append(
                {
                    "id": contribution.pk,
                    "frequency": contribution.frequency,
                    "amount_minor": contribution.amount_minor,
                    "currency": contribution.currency,
                    "status": contribution.status,
                    "created_at": contribution.created_at.isoformat(),
                    "marketing_consent": contribution.marketing_consent,
                    "marketing_consent_text": contribution.marketing_consent_text,
                    "article_url": contribution.article_url,
                    "payments": [
                        {
                            "id": payment.pk,
                            "gross_minor": payment.gross_minor,
                            "currency": payment.currency,
                            "status": payment.status,
                            "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
                            "receipts_sent_to": [r.to_email for r in payment.receipt_sends.all()],
                        }
                        for payment in contribution.payments.all()
                    ],
                }
            )
        exported.append(
            {
                "email": supporter.email,
                "name": supporter.name,
                "created_at": supporter.created_at.isoformat(),
                "contributions": contributions,
            }
        )
    return {"supporters": exported}


def payments_ledger_erase(*, email: str) -> dict[str, Any]:
    """Anonymise the supporter: amounts, dates and Stripe ids stay for the books."""
    contribution_model = apps.get_model("payments", "Contribution")
    receipt_model = apps.get_model("payments", "ReceiptSend")
    link_model = apps.get_model("payments", "SignInLink")
    erased = 0
    for supporter in _supporters(email):
        placeholder = f"erased-{supporter.pk}@erased.invalid"
        receipt_model.objects.filter(payment__contribution__supporter=supporter).update(
            to_email=placeholder
        )
        contribution_model.objects.filter(supporter=supporter).update(
            marketing_consent=False, article_url="", referrer=""
        )
        link_model.objects.filter(supporter=supporter).delete()
        supporter.email = placeholder
        supporter.name = ""
        supporter.save(update_fields=["email", "name", "updated_at"])
        erased += 1
    return {"supporters_anonymised": erased}


def personal_data_sources() -> list[PersonalDataSource]:
    sources = [
        PersonalDataSource(
            name="surveys", export=surveys_personal_data_export, erase=surveys_personal_data_erase
        )
    ]
    payments = payments_source()
    if payments is not None:
        sources.append(payments)
    return sources
