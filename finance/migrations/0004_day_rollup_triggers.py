"""On PostgreSQL, keep the daily rollups from the ledger's own writes (triggers) and count them
once from the ledger as it stands (see finance/rollups.py)."""

from django.conf import settings
from django.db import migrations

from finance.rollups import rollups_install, rollups_recount, rollups_uninstall


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            rollups_install(cursor=cursor, time_zone=settings.PUBLISHER_TIME_ZONE)
            rollups_recount(cursor=cursor)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            rollups_uninstall(cursor=cursor)


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0003_day_rollups"),
        ("payments", "0015_supporter_notices"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
