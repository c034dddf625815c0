"""What staff migrations run: each app that adds models adds a migration here calling `apply_roles`,
depending on that app's latest migration, so the roles cover its models."""

from typing import Any

from staff.services import roles_sync


def apply_roles(apps: Any, schema_editor: Any) -> None:
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    # Permissions are normally created after `migrate` ends; the roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_contenttypes(app_config, verbosity=0, apps=apps)
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    roles_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
        content_type_model=apps.get_model("contenttypes", "ContentType"),
    )
