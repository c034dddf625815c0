"""Admin pieces shared by the surveys and draws admins."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

PERSONAL_DATA_PERMISSION = "surveys.view_personal_data"


def field_names(model: Any, *, exclude: list[str]) -> list[str]:
    """Return the model's field names (without the id) minus `exclude`."""
    return [f.name for f in model._meta.fields if f.name not in exclude and f.name != "id"]


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Records written only by services: staff read them (actions may still act on them)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
