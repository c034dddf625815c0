from django.db import migrations

from staff.migrations_support import apply_roles


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0007_roles_for_dispute_movements"),
        ("payments", "0010_contribution_flags"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
