"""Finding 4 of the security review: personal data cannot be recovered through admin lookups.

Staff without `surveys.view_personal_data` (editorial) must not reach entrants' personal fields
by any admin door: querystring lookups (`?email__istartswith=a`), search, ordering, list filters
or the columns and fields shown. The test walks every registered admin, every personal field it
can reach (its own, and through one relation), and every lookup kind.
"""

import pytest
from django.contrib import admin
from django.db.models import ForeignKey, OneToOneField
from django.test import RequestFactory

from staff.admin_base import PERSONAL_FIELDS, PersonalDataAdminMixin
from staff.roles import EDITORIAL, SUPPORT
from staff.tests.helpers import staff_member
from surveys.tests.factories import draw_create, entries_confirmed, survey_create

pytestmark = pytest.mark.django_db

LOOKUP_KINDS = [
    "",
    "__exact",
    "__iexact",
    "__contains",
    "__icontains",
    "__startswith",
    "__istartswith",
    "__endswith",
    "__iendswith",
    "__regex",
    "__iregex",
    "__gt",
    "__gte",
    "__lt",
    "__lte",
    "__in",
    "__isnull",
    "__range",
]


def personal_paths(model) -> list[str]:
    """The personal fields a query on `model` can reach: its own, and one relation away."""
    paths = list(PERSONAL_FIELDS.get(model._meta.label_lower, ()))
    for field in model._meta.get_fields():
        related = field.related_model
        if related is None or not (field.is_relation and field.concrete):
            continue
        if isinstance(field, ForeignKey | OneToOneField):
            paths += [
                f"{field.name}__{p}" for p in PERSONAL_FIELDS.get(related._meta.label_lower, ())
            ]
    return paths


def admins_with_personal_paths():
    return [
        (model, model_admin)
        for model, model_admin in sorted(
            admin.site._registry.items(), key=lambda item: item[0]._meta.label
        )
        if personal_paths(model)
    ]


def changelist(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


@pytest.fixture
def entrants():
    draw = draw_create(survey=survey_create())
    return entries_confirmed(draw=draw, count=3)


def test_the_personal_fields_are_declared_for_the_models_that_hold_them():
    assert PERSONAL_FIELDS["surveys.entry"] >= {"email", "email_normalised"}
    assert PERSONAL_FIELDS["surveys.drawplacement"] >= {"first_name", "county"}
    assert {model._meta.label for model, _ in admins_with_personal_paths()} >= {
        "surveys.Entry",
        "surveys.DrawPlacement",
    }


def test_every_admin_that_reaches_personal_fields_uses_the_shared_guard():
    assert [
        model._meta.label
        for model, model_admin in admins_with_personal_paths()
        if not isinstance(model_admin, PersonalDataAdminMixin)
    ] == []


def test_querystring_lookups_on_personal_fields_are_refused_without_the_permission(
    client, entrants
):
    client.force_login(staff_member(EDITORIAL))
    leaks = []
    for model, _model_admin in admins_with_personal_paths():
        for path in personal_paths(model):
            for kind in LOOKUP_KINDS:
                value = (
                    "true"
                    if kind == "__isnull"
                    else "reader0@example.com,z"
                    if kind in ("__in", "__range")
                    else "reader0"
                )
                response = client.get(changelist(model), {path + kind: value})
                if response.status_code not in (400, 403):
                    leaks.append(f"{model._meta.label} ?{path}{kind}= {response.status_code}")
    assert leaks == []


def test_staff_with_the_permission_may_still_look_entrants_up(client, entrants):
    client.force_login(staff_member(SUPPORT))

    response = client.get("/admin/surveys/entry/", {"email__istartswith": "reader0"})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    searched = client.get("/admin/surveys/entry/", {"q": "reader1@example.com"})
    assert searched.context["cl"].result_count == 1


def test_search_ordering_filters_and_columns_leave_personal_fields_out(client, entrants):
    editorial = staff_member(EDITORIAL)
    request = RequestFactory().get("/admin/")
    request.user = editorial
    shown = []
    for model, model_admin in admins_with_personal_paths():
        paths = set(personal_paths(model))

        def touches(name, paths=paths) -> bool:
            name = name if isinstance(name, str) else name[0]
            name = name.lstrip("^=@-") if isinstance(name, str) else ""
            return any(name == p or name.startswith(p + "__") for p in paths)

        places = {
            "search": model_admin.get_search_fields(request),
            "list_filter": model_admin.get_list_filter(request),
            "list_display": model_admin.get_list_display(request),
            "sortable_by": model_admin.get_sortable_by(request),
            "ordering": model_admin.get_ordering(request),
            "fields": model_admin.get_fields(request),
        }
        for place, names in places.items():
            shown += [f"{model._meta.label} {place}: {n}" for n in names or () if touches(n)]
    assert shown == []

    client.force_login(editorial)
    assert (
        client.get("/admin/surveys/entry/", {"q": "reader1@example.com"}).context["cl"].result_count
        == 0
    )
    entry = entrants[0]
    page = client.get(f"/admin/surveys/entry/{entry.pk}/change/").content.decode()
    assert entry.email not in page
