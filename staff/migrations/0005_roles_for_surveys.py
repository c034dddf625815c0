from django.db import migrations

from staff.migrations_support import apply_roles


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0004_roles_for_campaigns"),
        ("surveys", "0006_placement_notice_sent_at"),
    ]

    operations = [migrations.RunPython(apply_roles, migrations.RunPython.noop)]
