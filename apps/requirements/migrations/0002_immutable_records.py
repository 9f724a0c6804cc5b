"""PostgreSQL itself keeps reviewed content and review records unchanged.

- A review (8.2.3) and a change request (8.2.4) are never updated or deleted.
- A version is never deleted, and never updated once a review points at it:
  the content that was reviewed stays exactly what the reviewer saw.
"""

from django.db import migrations

FORWARDS = """
CREATE FUNCTION requirements_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%: % refused (record is immutable)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE FUNCTION requirements_version_refuse_reviewed_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM requirements_requirementreview WHERE version_id = OLD.id) THEN
        RAISE EXCEPTION 'requirements_requirementversion: version % was reviewed and cannot change', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER requirement_review_immutable
    BEFORE UPDATE OR DELETE ON requirements_requirementreview
    FOR EACH ROW EXECUTE FUNCTION requirements_refuse_change();
CREATE TRIGGER requirement_change_request_immutable
    BEFORE UPDATE OR DELETE ON requirements_requirementchangerequest
    FOR EACH ROW EXECUTE FUNCTION requirements_refuse_change();
CREATE TRIGGER requirement_version_no_delete
    BEFORE DELETE ON requirements_requirementversion
    FOR EACH ROW EXECUTE FUNCTION requirements_refuse_change();
CREATE TRIGGER requirement_version_reviewed_frozen
    BEFORE UPDATE ON requirements_requirementversion
    FOR EACH ROW EXECUTE FUNCTION requirements_version_refuse_reviewed_update();
"""

BACKWARDS = """
DROP TRIGGER IF EXISTS requirement_version_reviewed_frozen ON requirements_requirementversion;
DROP TRIGGER IF EXISTS requirement_version_no_delete ON requirements_requirementversion;
DROP TRIGGER IF EXISTS requirement_change_request_immutable ON requirements_requirementchangerequest;
DROP TRIGGER IF EXISTS requirement_review_immutable ON requirements_requirementreview;
DROP FUNCTION IF EXISTS requirements_version_refuse_reviewed_update();
DROP FUNCTION IF EXISTS requirements_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("requirements", "0001_initial")]

    operations = [migrations.RunSQL(FORWARDS, BACKWARDS)]
