"""qms_next_reference(prefix, year, digits): the counter upsert of apps.core.sequences as a
function, so that a record can draw its reference inside its own INSERT (NextReference).

The counter's row is locked from the draw until COMMIT, and every creator of that prefix
queues on it; drawn inside the INSERT, the lock no longer covers the round trip and the
Python between drawing the number and inserting the row.
"""

from django.db import migrations

FORWARDS = """
CREATE FUNCTION qms_next_reference(p_prefix varchar, p_year integer, p_digits integer)
RETURNS varchar LANGUAGE sql VOLATILE AS $$
    INSERT INTO core_referencecounter (prefix, year, last) VALUES (p_prefix, p_year, 1)
    ON CONFLICT (prefix, year) DO UPDATE SET last = core_referencecounter.last + 1
    RETURNING p_prefix || '-' || p_year || '-' || lpad(last::text, greatest(p_digits, length(last::text)), '0');
$$;
"""

BACKWARDS = "DROP FUNCTION IF EXISTS qms_next_reference(varchar, integer, integer);"


class Migration(migrations.Migration):
    dependencies = [("core", "0004_outbound_email_attachment")]

    operations = [migrations.RunSQL(FORWARDS, BACKWARDS)]
