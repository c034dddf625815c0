"""Keep the amounts subscriptions replaced, so a change of amount leaves past months' MRR alone.

Nothing to fill in: a subscription with no rows here has had its current amount since it began,
and that is the best known of every existing subscription. Amounts replaced before this
migration were never kept, so for a supporter who changed theirs earlier the reports go on
showing the current amount in the months before the change too, as they have until now.
Changes from here on are kept as they are mirrored.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_dispute_movements"),
    ]

    operations = [
        migrations.CreateModel(
            name="SubscriptionPastAmount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount_minor", models.PositiveIntegerField()),
                ("valid_from", models.DateTimeField(blank=True, null=True)),
                ("valid_until", models.DateTimeField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "subscription",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="past_amounts",
                        to="payments.subscription",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("subscription", "valid_until"),
                        name="payments_subscription_past_amount_once",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("valid_from__isnull", True)),
                        fields=("subscription",),
                        name="payments_subscription_past_amount_one_first",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("valid_from__isnull", True),
                            ("valid_until__gt", models.F("valid_from")),
                            _connector="OR",
                        ),
                        name="payments_subscription_past_amount_ends_after_start",
                    ),
                ],
            },
        ),
    ]
