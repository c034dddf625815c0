from django.db import migrations

from staff.migrations_support import apply_roles


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0002_roles_for_campaigns_and_surveys"),
        ("payments", "0001_initial"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
