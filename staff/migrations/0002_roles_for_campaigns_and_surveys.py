from django.db import migrations

from staff.migrations_support import apply_roles


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0001_roles"),
        ("campaigns", "0001_initial"),
        ("surveys", "0001_initial"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
