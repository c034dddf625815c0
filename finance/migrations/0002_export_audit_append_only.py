"""On PostgreSQL, make the export audit append-only in the database too."""

from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION finance_exportaudit_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'finance_exportaudit is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER finance_exportaudit_append_only
    BEFORE UPDATE OR DELETE ON finance_exportaudit
    FOR EACH ROW EXECUTE FUNCTION finance_exportaudit_forbid_change();
"""
ALLOW = """
DROP TRIGGER IF EXISTS finance_exportaudit_append_only ON finance_exportaudit;
DROP FUNCTION IF EXISTS finance_exportaudit_forbid_change();
"""


def forbid(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORBID)


def allow(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALLOW)


class Migration(migrations.Migration):
    dependencies = [("finance", "0001_initial")]

    operations = [migrations.RunPython(forbid, allow)]
