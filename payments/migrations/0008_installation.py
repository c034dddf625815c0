import uuid

from django.db import migrations, models


def installation_make(apps, schema_editor):
    apps.get_model("payments", "Installation").objects.get_or_create(
        pk=1, defaults={"key": uuid.uuid4()}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0007_payout_balance_transactions"),
    ]

    operations = [
        migrations.CreateModel(
            name="Installation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.UUIDField(unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("pk", 1)), name="payments_installation_one_row"
                    )
                ],
            },
        ),
        migrations.RunPython(installation_make, migrations.RunPython.noop),
    ]
