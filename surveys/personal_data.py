"""One place that knows every app holding personal data about an e-mail address.

`manage.py personal_data <export|erase> <email>` walks `personal_data_sources()`. Surveys is
built in. The other apps each offer a module with `personal_data_export(*, email) -> dict` and
`personal_data_erase(*, email) -> dict`, used when the app is installed: payments
(contributions, supporters, the stored Stripe events and the demo provider's objects;
finance records are anonymised, never deleted) and finance (export files that name supporters).
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

HOOK_MODULES = {"payments": "payments.personal_data", "finance": "finance.personal_data"}
PAYMENTS_HOOK_MODULE = HOOK_MODULES["payments"]


@dataclass(frozen=True)
class PersonalDataSource:
    name: str
    export: Callable[..., dict[str, Any]]
    erase: Callable[..., dict[str, Any]]


def app_source(app: str) -> PersonalDataSource | None:
    """Return an installed app's source, from its own module; None when it is not installed."""
    if not apps.is_installed(app):
        return None
    module = importlib.import_module(HOOK_MODULES[app])
    return PersonalDataSource(
        name=app, export=module.personal_data_export, erase=module.personal_data_erase
    )


def personal_data_sources() -> list[PersonalDataSource]:
    sources = [
        PersonalDataSource(
            name="surveys", export=surveys_personal_data_export, erase=surveys_personal_data_erase
        )
    ]
    for app in HOOK_MODULES:
        source = app_source(app)
        if source is not None:
            sources.append(source)
    return sources
