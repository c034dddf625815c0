"""Writes for staff roles."""

from typing import Any

from django.db import transaction

from staff.roles import ALL, ROLES


def _permission_codenames(model_name: str, actions: tuple[str, ...] | list[str]) -> list[str]:
    return [f"{action}_{model_name}" if action in ALL else action for action in actions]


@transaction.atomic
def roles_sync(*, group_model: Any, permission_model: Any, content_type_model: Any) -> None:
    """Create each role's group and set its permissions to exactly those in `ROLES`.

    Takes the model classes so that migrations can pass their historical models. Entries whose
    app has no models yet are skipped; `staff/tests` checks that every entry resolves once all
    migrations have run.
    """
    for role, grants in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        permissions = []
        for target, actions in grants.items():
            app_label, model = target.split(".")
            content_types = content_type_model.objects.filter(app_label=app_label)
            if model != "*":
                content_types = content_types.filter(model=model)
            for content_type in content_types:
                codenames = _permission_codenames(content_type.model, list(actions))
                permissions.extend(
                    permission_model.objects.filter(
                        content_type=content_type, codename__in=codenames
                    )
                )
        group.permissions.set(permissions)
