from django.db import migrations

from staff.migrations_support import apply_roles


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0003_roles_for_payments"),
        ("campaigns", "0002_targeting_variants_counts"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
