"""PostgreSQL itself keeps frozen review inputs and generated reports unchanged: a snapshot
or a report row is never updated or deleted (a new compile or version adds a row)."""

from django.db import migrations

FORWARDS = """
CREATE FUNCTION reviews_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%: % refused (record is immutable)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER review_snapshot_immutable
    BEFORE UPDATE OR DELETE ON reviews_reviewsnapshot
    FOR EACH ROW EXECUTE FUNCTION reviews_refuse_change();
CREATE TRIGGER review_report_immutable
    BEFORE UPDATE OR DELETE ON reviews_reviewreport
    FOR EACH ROW EXECUTE FUNCTION reviews_refuse_change();
"""

BACKWARDS = """
DROP TRIGGER IF EXISTS review_report_immutable ON reviews_reviewreport;
DROP TRIGGER IF EXISTS review_snapshot_immutable ON reviews_reviewsnapshot;
DROP FUNCTION IF EXISTS reviews_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_initial")]

    operations = [migrations.RunSQL(FORWARDS, BACKWARDS)]
