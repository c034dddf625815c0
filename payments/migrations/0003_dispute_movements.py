"""Record each dispute's money movements (withdrawal, reinstatement) as rows of their own, each
with its payout, and drop the dispute's single `stripe_payout_id`, which could name only one of
the two payouts a won dispute touches.

Existing disputes get no movement here: a movement is a Stripe balance transaction, known only by
its id, which the dispute rows never stored, and a row with an invented id would never be matched
by a payout (nor replaced when the real one arrives). Nor is the dropped payout id carried over:
it named the payout of whichever transaction was tagged last, not of a movement. The rows keep
their status, amounts and fee; their movements are recorded by the next event Stripe sends for
the dispute (each one lists every balance transaction so far) or by `manage.py backfill_stripe`
over the period of the payouts concerned, which reads a dispute again when one of its payouts
carries money the ledger lacks. Until then those payouts show the disputes as a difference.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_payment_report_covering_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="DisputeMovement",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stripe_balance_transaction_id", models.CharField(max_length=255, unique=True)),
                ("amount_minor", models.IntegerField()),
                ("fee_minor", models.IntegerField()),
                ("net_minor", models.IntegerField()),
                (
                    "currency",
                    models.CharField(
                        choices=[("EUR", "Euro"), ("GBP", "Pound sterling"), ("USD", "US dollar")],
                        max_length=3,
                    ),
                ),
                (
                    "moved_at",
                    models.DateTimeField(help_text="When Stripe created the balance transaction."),
                ),
                ("stripe_payout_id", models.CharField(blank=True, db_index=True, max_length=255)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "dispute",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="movements",
                        to="payments.dispute",
                    ),
                ),
            ],
            options={
                "ordering": ["moved_at"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            net_minor=models.F("amount_minor") - models.F("fee_minor")
                        ),
                        name="payments_disputemovement_net_is_amount_less_fee",
                    )
                ],
            },
        ),
        migrations.RemoveField(model_name="dispute", name="stripe_payout_id"),
    ]
