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

# Roles belong to the whole server: each test run and xdist process creates its own.
ROLE = f"qms_app_role_{settings.RUN_NAME}"


@pytest.fixture
def as_app_role(db):
    """Run the rest of the test as the role grant_app_role prepared (SET ROLE; rolled back with the test)."""
    call_command("grant_app_role", ROLE)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(ROLE)))
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


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


def test_the_app_role_still_does_the_portals_work_and_the_chain_verifies(quality_manager, staff, as_app_role):
    complaint = make_complaint(qm=quality_manager, assignee=staff, status="investigating")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == ROLE
    assert complaint.status == "investigating"
    assert AuditEntry.objects.for_object(complaint).count() >= 3
    assert audit.verify_chain().ok


def test_tables_later_migrations_create_are_open_to_the_app_role(db):
    call_command("grant_app_role", ROLE)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE soak_later_table (id int)")
        cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(ROLE)))
        cursor.execute("INSERT INTO soak_later_table VALUES (1)")
        cursor.execute("UPDATE soak_later_table SET id = 2")
        cursor.execute("RESET ROLE")


def test_a_password_variable_that_is_not_set_is_refused(db, monkeypatch):
    monkeypatch.delenv("QMS_TEST_APP_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="QMS_TEST_APP_PASSWORD is not set"):
        call_command("grant_app_role", ROLE, "--password-env", "QMS_TEST_APP_PASSWORD")
