"""The application appends to the chain only through `audit_append()`.

A role that may INSERT into audit_auditentry could write an entry with any seq, created_at and
a correctly computed hash, and it would verify. The function now runs with its owner's rights
(SECURITY DEFINER, with a fixed search_path so a caller cannot slip its own objects in), so the
application role needs no INSERT on the table at all (`grant_app_role` revokes it and grants
EXECUTE): seq, created_at and the hash are always the database's own.
"""

from django.db import migrations

SIGNATURE = "audit_append(bytea, bytea, bytea, varchar, bigint, varchar, integer, varchar, varchar, jsonb, text)"

FORWARDS = f"""
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION {SIGNATURE} SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
END;
$$;
REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC;
"""

BACKWARDS = f"""
ALTER FUNCTION {SIGNATURE} SECURITY INVOKER RESET search_path;
GRANT EXECUTE ON FUNCTION {SIGNATURE} TO PUBLIC;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_append_function")]

    operations = [migrations.RunSQL(FORWARDS, BACKWARDS)]
