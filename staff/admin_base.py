"""Admin building blocks shared by the apps."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Records only services write (ledgers, audits, jobs): staff read them, never edit them.

    Admin actions may still act on the records through a service.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Personal data the admin holds, per model ("app_label.model"): the fields that hold it. Staff
# see or query them only with PERSONAL_DATA_PERMISSION (the support role has it; editorial runs
# surveys and draws without it).
PERSONAL_DATA_PERMISSION = "surveys.view_personal_data"
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    "surveys.entry": frozenset({"email", "email_normalised"}),
    "surveys.drawplacement": frozenset({"first_name", "county"}),
}


def personal_path(model: Any, path: str) -> bool:
    """Return whether a lookup path (`email__istartswith`, `entry__email`) reaches personal data.

    The path is followed across relations, so a personal field of a related model counts too.
    """
    for part in path.split(LOOKUP_SEP):
        if part in PERSONAL_FIELDS.get(model._meta.label_lower, ()):
            return True
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if field.related_model is None:
            return False
        model = field.related_model
    return False


def _field_name(item: Any) -> str:
    """The field path behind a search, filter, ordering or column entry ("^email", ("x", F))."""
    name = item[0] if isinstance(item, list | tuple) else item
    return name.lstrip("^=@-") if isinstance(name, str) else ""


class PersonalDataAdminMixin:
    """Keep personal fields away from staff without the personal-data permission.

    Not only hidden from the columns and the form: refused as querystring lookups
    (`?email__istartswith=a` would answer yes or no, one character at a time), and left out of
    search, ordering and list filters. Every admin whose model holds, or relates to, a field in
    PERSONAL_FIELDS uses this (a test walks them all).
    """

    model: Any

    @staticmethod
    def sees_personal_data(request: HttpRequest) -> bool:
        return request.user.has_perm(PERSONAL_DATA_PERMISSION)

    def _without_personal(self, request: HttpRequest, items: Any) -> Any:
        if items is None or self.sees_personal_data(request):
            return items
        kept = [item for item in items if not personal_path(self.model, _field_name(item))]
        return type(items)(kept) if isinstance(items, tuple) else kept

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        if not self.sees_personal_data(request) and personal_path(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)  # type: ignore[misc]

    def get_search_fields(self, request: HttpRequest) -> Any:
        return self._without_personal(request, super().get_search_fields(request))  # type: ignore[misc]

    def get_list_filter(self, request: HttpRequest) -> Any:
        return self._without_personal(request, super().get_list_filter(request))  # type: ignore[misc]

    def get_list_display(self, request: HttpRequest) -> Any:
        return self._without_personal(request, super().get_list_display(request))  # type: ignore[misc]

    def get_sortable_by(self, request: HttpRequest) -> Any:
        return self._without_personal(request, super().get_sortable_by(request))  # type: ignore[misc]

    def get_ordering(self, request: HttpRequest) -> Any:
        return self._without_personal(request, super().get_ordering(request))  # type: ignore[misc]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self._without_personal(request, super().get_fields(request, obj))  # type: ignore[misc]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self._without_personal(request, super().get_readonly_fields(request, obj))  # type: ignore[misc]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])  # type: ignore[misc]
        if not self.sees_personal_data(request):
            exclude += PERSONAL_FIELDS.get(self.model._meta.label_lower, ())
        return exclude
