"""One place that knows every app holding personal data about an e-mail address.

`manage.py personal_data <export|erase> <email>` walks `personal_data_sources()`. Surveys is
built in. Contributions come from the payments app's `PAYMENTS_HOOK_MODULE`
(`personal_data_export(*, email) -> dict`, `personal_data_erase(*, email) -> dict`), which also
covers the stored Stripe events and the demo provider's objects. Finance records are anonymised,
never deleted.
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
    """Return the contributions' source: the payments app's own module, when it is installed."""
    if not apps.is_installed("payments"):
        return None
    module = importlib.import_module(PAYMENTS_HOOK_MODULE)
    return PersonalDataSource(
        name="payments", export=module.personal_data_export, erase=module.personal_data_erase
    )


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
