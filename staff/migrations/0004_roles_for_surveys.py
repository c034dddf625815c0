from django.db import migrations

from staff.migrations_support import apply_roles


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0003_roles_for_payments"),
        ("surveys", "0004_answer_first_value"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
