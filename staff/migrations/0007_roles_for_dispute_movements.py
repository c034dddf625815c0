from django.db import migrations

from staff.migrations_support import apply_roles


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0006_roles_for_finance"),
        ("payments", "0003_dispute_movements"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
