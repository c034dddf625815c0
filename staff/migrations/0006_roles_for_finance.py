from django.db import migrations

from staff.migrations_support import apply_roles


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0005_roles_for_surveys"),
        ("finance", "0002_export_audit_append_only"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
