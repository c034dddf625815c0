"""Replace the (status, paid_at) index by one that also carries the amounts the finance reports
sum, so their monthly aggregates read the index alone. Same key columns: it serves every query
the old index did. Created before the old one is dropped, so no query is left without one."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(
                fields=["status", "paid_at"],
                include=("currency", "kind", "gross_minor", "fee_minor", "net_minor"),
                name="payments_payment_report_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="payment",
            name="payments_payment_status_idx",
        ),
    ]
