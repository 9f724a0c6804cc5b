"""The application's database role cannot UPDATE, DELETE or TRUNCATE the audit trail (#10):
the trail is append-only by privilege, not only by trigger, so not even a compromised portal
can disable the triggers or rewrite history. Everything else the portal does still works."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import ProgrammingError
from psycopg2 import sql

from apps.audit import services as audit
from apps.audit.models import AuditEntry
from tests.audit.test_services import _record
from tests.complaints.factories import make_complaint
from tests.database_roles import APP_ROLE, as_owner

# Roles belong to the whole server: each test run and xdist process creates its own.
ROLE = f"qms_app_role_{settings.RUN_NAME}"


@pytest.fixture
def as_app_role(db):
    """Run the rest of the test as the role grant_app_role prepared (SET ROLE; rolled back with the test)."""
    with as_owner():
        call_command("grant_app_role", ROLE)
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(ROLE)))
        yield


def _refused(statement: str) -> str:
    with pytest.raises(ProgrammingError) as refusal, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    return str(refusal.value)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET reason = 'rewritten'",
        "DELETE FROM audit_auditentry",
        "TRUNCATE audit_auditentry",
        "SET LOCAL qms.allow_audit_truncate = on; TRUNCATE audit_auditentry CASCADE",
    ],
)
def test_the_app_role_may_not_change_or_erase_audit_entries(quality_manager, as_app_role, statement):
    _record(quality_manager)
    assert "permission denied" in _refused(statement)
    assert AuditEntry.objects.count() == 1


def test_the_app_role_cannot_switch_the_append_only_triggers_off(quality_manager, as_app_role):
    _record(quality_manager)
    message = _refused("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
    assert "must be owner" in message


def test_the_suite_itself_runs_as_an_application_role(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, usesuper FROM pg_user WHERE usename = current_user")
        assert cursor.fetchone() == (APP_ROLE, False)
    message = _refused("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
    assert "must be owner" in message


def test_the_app_role_still_does_the_portals_work_and_the_chain_verifies(quality_manager, staff, as_app_role):
    complaint = make_complaint(qm=quality_manager, assignee=staff, status="investigating")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == ROLE
    assert complaint.status == "investigating"
    assert AuditEntry.objects.for_object(complaint).count() >= 3
    assert audit.verify_chain().ok


def test_tables_later_migrations_create_are_open_to_the_app_role(db):
    with as_owner(), connection.cursor() as cursor:
        call_command("grant_app_role", ROLE)
        cursor.execute("CREATE TABLE soak_later_table (id int)")
        cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(ROLE)))
        cursor.execute("INSERT INTO soak_later_table VALUES (1)")
        cursor.execute("UPDATE soak_later_table SET id = 2")


def test_a_password_variable_that_is_not_set_is_refused(db, monkeypatch):
    monkeypatch.delenv("QMS_TEST_APP_PASSWORD", raising=False)
    with as_owner(), pytest.raises(CommandError, match="QMS_TEST_APP_PASSWORD is not set"):
        call_command("grant_app_role", ROLE, "--password-env", "QMS_TEST_APP_PASSWORD")


def test_the_app_role_may_not_insert_entries_directly(quality_manager, as_app_role):
    """An entry with another actor, a backdated created_at and a correctly computed hash used
    to verify as intact (#22 §6a): the role now has no INSERT on the table at all."""
    _record(quality_manager)
    message = _refused(
        "INSERT INTO audit_auditentry (seq, created_at, actor_kind, actor_id, action, content_type_id, "
        "object_id, object_label, changes, reason, prev_hash, hash) "
        "SELECT seq + 1, created_at - interval '30 days', actor_kind, actor_id, action, content_type_id, "
        "object_id, object_label, changes, 'forged', hash, repeat('a', 64) FROM audit_auditentry"
    )
    assert "permission denied" in message
    assert AuditEntry.objects.count() == 1


def test_the_app_role_appends_through_the_function_which_dates_and_hashes_itself(quality_manager, as_app_role):
    first = _record(quality_manager)
    second = _record(quality_manager)
    assert (second.seq, second.prev_hash) == (first.seq + 1, first.hash)
    assert second.created_at >= first.created_at
    assert audit.verify_chain().ok


def test_the_append_function_is_not_open_to_every_role(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT proacl::text, prosecdef, proconfig FROM pg_proc WHERE proname = 'audit_append'")
        acl, security_definer, config = cursor.fetchone()
    assert security_definer
    # The suite itself runs as an application role that grant_app_role prepared (tests/database_roles.py).
    assert any(item.startswith(f"{APP_ROLE}=X/") for item in acl.strip("{}").split(","))
    # PUBLIC (an empty grantee, "=X/owner") may not execute it; grant_app_role grants it by name.
    assert not any(item.startswith("=") for item in acl.strip("{}").split(","))
    assert any(setting.startswith("search_path=") for setting in config)
