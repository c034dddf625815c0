"""Admin pieces shared by the surveys and draws admins."""

from typing import Any

from staff.admin_base import PERSONAL_DATA_PERMISSION

__all__ = ["PERSONAL_DATA_PERMISSION", "field_names"]


def field_names(model: Any, *, exclude: list[str]) -> list[str]:
    """Return the model's field names (without the id) minus `exclude`."""
    return [f.name for f in model._meta.fields if f.name not in exclude and f.name != "id"]
