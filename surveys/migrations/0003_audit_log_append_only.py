"""On PostgreSQL the database itself refuses to change or delete audit log rows."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION surveys_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the draw audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER surveys_drawauditevent_append_only
    BEFORE UPDATE OR DELETE ON surveys_drawauditevent
    FOR EACH ROW EXECUTE FUNCTION surveys_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS surveys_drawauditevent_append_only ON surveys_drawauditevent;
DROP FUNCTION IF EXISTS surveys_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0002_questions_versions_responses_draws")]

    operations = [migrations.RunPython(forwards, backwards)]
