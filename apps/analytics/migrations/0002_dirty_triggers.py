"""Statement-level triggers that mark the hours whose roll-up days must be re-aggregated.

Every INSERT, UPDATE and DELETE on complaints, feedback and survey answers (services, bulk
writes, COPY, admin, psql alike) writes one `analytics_dirty` row per distinct (source, UTC
hour) of the timestamps that decide a row's roll-up day, from the old and the new rows, so a
moved, reopened or re-categorised record un-counts its old day too. Updates that change no
rolled-up column (an erasure, an assignee, a message) mark nothing. The domain apps import
nothing of analytics.
"""

from django.db import migrations

# The columns a complaint's roll-up rows depend on: its days, its dimensions, its SLA outcome.
COMPLAINT_COLUMNS = (
    "received_at, closed_at, status, product_id, customer_id, category_id, channel, "
    "ack_due_at, acknowledged_at, respond_due_at, responded_at, "
    "close_due_at"
)
FEEDBACK_COLUMNS = "created_at, product_id, customer_id, channel, category_id, sentiment"
ANSWER_COLUMNS = "submitted_at, kind, score, response_id"


def _function(name: str, source: str, times: list[str], columns: str) -> str:
    def values(alias: str) -> str:
        return ", ".join(f"({alias}.{t})" for t in times)

    def row(alias: str) -> str:
        return "ROW(" + ", ".join(f"{alias}.{c.strip()}" for c in columns.split(",")) + ")"

    def stamps(rows: str) -> str:
        return f"SELECT x.ts FROM {rows} r CROSS JOIN LATERAL (VALUES {values('r')}) x (ts)"  # noqa: S608

    changed = (
        f"SELECT x.ts FROM old_rows o JOIN new_rows n ON n.id = o.id "  # noqa: S608 - module constants only
        f"CROSS JOIN LATERAL (VALUES {values('o')}, {values('n')}) x (ts) "
        f"WHERE {row('o')} IS DISTINCT FROM {row('n')}"
    )
    insert = f"INSERT INTO analytics_dirty (source, hour) SELECT DISTINCT '{source}', date_trunc('hour', m.ts, 'UTC')"
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {insert} FROM ({stamps("new_rows")}) m WHERE m.ts IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        {insert} FROM ({stamps("old_rows")}) m WHERE m.ts IS NOT NULL;
    ELSE
        {insert} FROM ({changed}) m WHERE m.ts IS NOT NULL;
    END IF;
    RETURN NULL;
END;
$$;
"""


def _triggers(table: str, function: str) -> str:
    prefix = f"analytics_{table}"
    return f"""
CREATE TRIGGER {prefix}_ins AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {prefix}_upd AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {prefix}_del AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""


def _drop(table: str, function: str) -> str:
    prefix = f"analytics_{table}"
    return f"""
DROP TRIGGER IF EXISTS {prefix}_ins ON {table};
DROP TRIGGER IF EXISTS {prefix}_upd ON {table};
DROP TRIGGER IF EXISTS {prefix}_del ON {table};
DROP FUNCTION IF EXISTS {function}();
"""


SOURCES = [
    ("complaints_complaint", "analytics_mark_complaint", "complaint", ["received_at", "closed_at"], COMPLAINT_COLUMNS),
    ("feedback_feedback", "analytics_mark_feedback", "feedback", ["created_at"], FEEDBACK_COLUMNS),
    ("surveys_answer", "analytics_mark_answer", "answer", ["submitted_at"], ANSWER_COLUMNS),
]

FORWARD = "".join(
    _function(function, source, times, columns) + _triggers(table, function)
    for table, function, source, times, columns in SOURCES
)
REVERSE = "".join(_drop(table, function) for table, function, *_ in SOURCES)


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_rollups"),
        ("complaints", "0006_reference_counter_to_core"),
        ("customers", "0003_customer_products"),
        ("feedback", "0006_call_back"),
        ("surveys", "0002_role_permissions"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
