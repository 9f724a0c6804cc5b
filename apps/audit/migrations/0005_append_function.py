"""Appending to the chain is one statement: `audit_append()`.

Before, an append was four round trips (take the chain lock, read the last entry, insert,
and the caller's COMMIT), and every writer of the portal queued behind the lock for all of
them. The function takes the lock, reads the last entry, hashes and inserts inside the
database, so the lock is held for one statement and the COMMIT.

The hash is the same SHA-256 over the same canonical JSON as before (chains written either
way verify alike): apps.audit.services builds the JSON around the three values only the
chain knows at append time (created_at, prev_hash, seq) and passes the three fragments.

Each statement of a VOLATILE PL/pgSQL function takes a fresh snapshot, so the last entry
is read after the lock is granted and sees the entry the previous holder committed.
"""

from django.db import migrations

FORWARDS = """
CREATE FUNCTION audit_append(
    head bytea, mid bytea, tail bytea,
    p_actor_kind varchar, p_actor_id bigint, p_action varchar, p_content_type_id integer,
    p_object_id varchar, p_object_label varchar, p_changes jsonb, p_reason text
) RETURNS TABLE (id bigint, seq bigint, created_at timestamptz, prev_hash varchar, hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    last_seq bigint;
    last_hash varchar;
    new_seq bigint;
    new_prev varchar;
    new_at timestamptz;
    new_hash varchar;
    new_id bigint;
BEGIN
    -- "QMS-AUDT" in ASCII: the chain's transaction-scoped lock, held until COMMIT.
    PERFORM pg_advisory_xact_lock(5858430144113624148);
    SELECT e.seq, e.hash INTO last_seq, last_hash FROM audit_auditentry e ORDER BY e.seq DESC LIMIT 1;
    new_seq := coalesce(last_seq, 0) + 1;
    new_prev := coalesce(last_hash, repeat('0', 64));
    new_at := clock_timestamp();
    new_hash := encode(sha256(
        head || convert_to(to_char(new_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), 'UTF8')
        || mid || convert_to(new_prev, 'UTF8') || tail || convert_to(new_seq::text || '}', 'UTF8')
    ), 'hex');
    INSERT INTO audit_auditentry (
        seq, created_at, actor_kind, actor_id, action, content_type_id,
        object_id, object_label, changes, reason, prev_hash, hash
    ) VALUES (
        new_seq, new_at, p_actor_kind, p_actor_id, p_action, p_content_type_id,
        p_object_id, p_object_label, p_changes, p_reason, new_prev, new_hash
    ) RETURNING audit_auditentry.id INTO new_id;
    RETURN QUERY SELECT new_id, new_seq, new_at, new_prev, new_hash;
END;
$$;
"""

BACKWARDS = "DROP FUNCTION IF EXISTS audit_append(bytea, bytea, bytea, varchar, bigint, varchar, integer, varchar, varchar, jsonb, text);"


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_evidence_permission")]

    operations = [migrations.RunSQL(FORWARDS, BACKWARDS)]
