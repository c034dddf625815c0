"""One place that knows every app holding personal data about an e-mail address.

`manage.py personal_data <export|erase> <email>` walks `personal_data_sources()`. Surveys is
built in; contributions plug in through `PAYMENTS_HOOK_MODULE`: a module providing
`personal_data_export(*, email) -> dict` and `personal_data_erase(*, email) -> dict`
(finance records anonymised there, never deleted).
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    """Return the contributions' source when the payments app provides the hook module."""
    try:
        module = importlib.import_module(PAYMENTS_HOOK_MODULE)
    except ModuleNotFoundError as error:
        if error.name != PAYMENTS_HOOK_MODULE:
            raise
        return None
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
