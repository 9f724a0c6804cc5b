"""Upgrades without downtime (#23): migrations keep large tables open to the portal.

The guard (apps.core.migrations_policy) walks every migration as `migrate` would. The database
tests play an upgrade on a database of their own, migrated by the real `migrate` command in a
child process, as an operator runs it: from before the rebuilt indexes, with a session holding a
lock the upgrade needs, then again once it is gone.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.core.management import call_command
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader
from psycopg2 import sql

from apps.core import migrations_policy as policy

BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def loader() -> MigrationLoader:
    return MigrationLoader(None, ignore_no_migrations=True)


@pytest.fixture(scope="module")
def latest_state(loader):
    return loader.project_state()


def _migration(*operations, atomic: bool = True, app_label: str = "complaints") -> migrations.Migration:
    migration = migrations.Migration("0099_example", app_label)
    migration.operations = list(operations)
    migration.atomic = atomic
    return migration


def _complaint_field(state, name: str) -> models.Field:
    return state.models["complaints", "complaint"].fields[name].clone()


def test_no_migration_locks_a_large_table(loader):
    assert policy.violations(loader) == []


def test_every_grandfathered_migration_still_offends_and_says_why(loader):
    offending = policy.walk(loader)
    for key, reason in policy.GRANDFATHERED.items():
        assert key in offending, f"{key} no longer offends: take it off GRANDFATHERED"
        assert len(reason) > 40


def test_the_guard_names_a_new_migration_that_adds_a_plain_index_to_a_large_table(latest_state):
    index = models.Index(fields=["status", "received_at"], name="complaint_status_time_idx")
    bad = _migration(migrations.AddIndex("complaint", index))

    found = policy.offences(bad, latest_state)

    assert len(found) == 1
    assert found[0].startswith("complaints.0099_example: builds index complaint_status_time_idx")
    assert "AddIndexConcurrently" in found[0]


def _bad_operations(state) -> dict[str, tuple[list, bool]]:
    as_number = models.IntegerField(null=True)
    shorter = _complaint_field(state, "reference")
    shorter.max_length = 10
    required = _complaint_field(state, "acknowledged_at")
    required.null = False
    indexed = _complaint_field(state, "acknowledged_at")
    indexed.db_index = True
    return {
        "drops an index": ([migrations.RemoveIndex("complaint", "complaint_closed_idx")], True),
        "changes a column's type": ([migrations.AlterField("complaint", "channel", as_number)], True),
        "shortens a varchar": ([migrations.AlterField("complaint", "reference", shorter)], True),
        "makes a column NOT NULL": ([migrations.AlterField("complaint", "acknowledged_at", required)], True),
        "indexes a column": ([migrations.AlterField("complaint", "acknowledged_at", indexed)], True),
        "adds a unique column": (
            [migrations.AddField("complaint", "external_id", models.CharField(max_length=40, null=True, unique=True))],
            True,
        ),
        "adds a volatile default": (
            [
                migrations.AddField(
                    "complaint", "public_id", models.UUIDField(db_default=models.Func(function="gen_random_uuid"))
                )
            ],
            True,
        ),
        "adds NOT NULL without a default": (
            [migrations.AddField("complaint", "priority", models.IntegerField())],
            True,
        ),
        "adds a unique constraint": (
            [
                migrations.AddConstraint(
                    "complaint", models.UniqueConstraint(fields=["customer", "received_at"], name="complaint_once")
                )
            ],
            True,
        ),
        "runs CREATE INDEX in SQL": (
            [migrations.RunSQL("CREATE INDEX complaint_x ON complaints_complaint (status)", migrations.RunSQL.noop)],
            True,
        ),
        "runs ALTER TYPE in SQL": (
            [
                migrations.RunSQL(
                    "ALTER TABLE complaints_complaint ALTER COLUMN channel TYPE varchar(40)", migrations.RunSQL.noop
                )
            ],
            True,
        ),
        "builds concurrently inside a transaction": (
            [AddIndexConcurrently("complaint", models.Index(fields=["status"], name="complaint_status_idx"))],
            True,
        ),
        "hides a plain index in SeparateDatabaseAndState": (
            [
                migrations.SeparateDatabaseAndState(
                    database_operations=[
                        migrations.AddIndex("complaint", models.Index(fields=["status"], name="complaint_status_idx"))
                    ]
                )
            ],
            True,
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "drops an index",
        "changes a column's type",
        "shortens a varchar",
        "makes a column NOT NULL",
        "indexes a column",
        "adds a unique column",
        "adds a volatile default",
        "adds NOT NULL without a default",
        "adds a unique constraint",
        "runs CREATE INDEX in SQL",
        "runs ALTER TYPE in SQL",
        "builds concurrently inside a transaction",
        "hides a plain index in SeparateDatabaseAndState",
    ],
)
def test_the_guard_names_each_step_that_locks_a_large_table(case, latest_state):
    operations, atomic = _bad_operations(latest_state)[case]

    found = policy.offences(_migration(*operations, atomic=atomic), latest_state)

    assert len(found) == 1, found
    assert found[0].startswith("complaints.0099_example: ")


def _good_operations(state) -> dict[str, tuple[list, bool, str]]:
    longer = _complaint_field(state, "reference")
    longer.max_length = 40
    return {
        "builds concurrently outside a transaction": (
            [AddIndexConcurrently("complaint", models.Index(fields=["status"], name="complaint_status_idx"))],
            False,
            "complaints",
        ),
        "adds a nullable column": (
            [migrations.AddField("complaint", "note", models.TextField(null=True))],
            True,
            "complaints",
        ),
        "adds a column with a constant default": (
            [migrations.AddField("complaint", "flagged", models.BooleanField(default=False))],
            True,
            "complaints",
        ),
        "widens a varchar": ([migrations.AlterField("complaint", "reference", longer)], True, "complaints"),
        "indexes a small table": (
            [migrations.AddIndex("complaintcategory", models.Index(fields=["name"], name="category_name_idx"))],
            True,
            "complaints",
        ),
        "indexes a table it creates": (
            [
                migrations.CreateModel("Invitation", [("id", models.BigAutoField(primary_key=True))]),
                migrations.AddIndex("invitation", models.Index(fields=["id"], name="new_invitation_idx")),
            ],
            True,
            "surveys",
        ),
        "runs CREATE INDEX CONCURRENTLY in SQL": (
            [
                migrations.RunSQL(
                    "CREATE INDEX CONCURRENTLY complaint_x ON complaints_complaint (status)",
                    "DROP INDEX CONCURRENTLY complaint_x",
                )
            ],
            False,
            "complaints",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "builds concurrently outside a transaction",
        "adds a nullable column",
        "adds a column with a constant default",
        "widens a varchar",
        "indexes a small table",
        "indexes a table it creates",
        "runs CREATE INDEX CONCURRENTLY in SQL",
    ],
)
def test_the_guard_lets_steps_that_keep_the_table_open_pass(case, latest_state):
    operations, atomic, app_label = _good_operations(latest_state)[case]

    assert policy.offences(_migration(*operations, atomic=atomic, app_label=app_label), latest_state) == []


# --- An upgrade on a database of its own ---------------------------------------------------------

# The migrations #23 found rebuilding indexes inside a transaction: the upgrade starts before them.
REBUILT = [("complaints", "0010_rollup_covering_indexes"), ("surveys", "0005_invitation_sent_covering")]

# Rows for the rebuilt indexes to cover, written with the models as the old portal had them (the
# migration state at the targets: today's Complaint has columns the old table lacks).
# bulk_create writes no audit entry and queues no e-mail.
_OLD_PORTAL = """
import json, sys
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
targets = [tuple(target) for target in json.loads(sys.argv[1])]
for app_label, name in targets:
    call_command("migrate", app_label, name, verbosity=0)
Complaint = MigrationLoader(connection).project_state(targets).apps.get_model("complaints", "Complaint")
now = timezone.now()
Complaint.objects.bulk_create(
    Complaint(reference=f"CMP-OLD-{n:05}", token_hash=f"{n:064x}", channel="web", received_at=now,
              closed_at=now if n % 2 else None)
    for n in range(300)
)
"""

_INDEXES = """
    SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema()
"""
_COLUMNS = """
    SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
"""
_CONSTRAINTS = """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
"""


def _url(database: str) -> str:
    # The owner's URL, as the operator who migrates uses it (the tests' own connection plays the
    # application role).
    return urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{database}").geturl()


def _targets_before(loader: MigrationLoader, keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    later = {key for rebuilt in keys for key in loader.graph.backwards_plan(rebuilt)}
    last: dict[str, str] = {}
    for app_label, name in policy.plan(loader):
        if (app_label, name) not in later:
            last[app_label] = name
    return list(last.items())


def _run(url: str, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "qms_portal.settings.test", **env}
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=timeout
    )


def _schema(cursor) -> dict[str, set]:
    found = {}
    for name, query in (("indexes", _INDEXES), ("columns", _COLUMNS), ("constraints", _CONSTRAINTS)):
        cursor.execute(query)
        found[name] = set(cursor.fetchall())
    return found


@pytest.fixture(scope="module")
def old_portal(loader, django_db_blocker) -> str:
    """A database migrated up to just before REBUILT, with complaints in it; its owner's URL."""
    name = f"{settings.RUN_NAME}_upgrade"[:63]
    server = psycopg2.connect(_url("postgres"))
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _url(name)
    made = _run(url, "-c", _OLD_PORTAL, json.dumps(_targets_before(loader, REBUILT)))
    assert made.returncode == 0, made.stderr
    yield url
    with server.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    server.close()


def _applied(url: str) -> set[tuple[str, str]]:
    with psycopg2.connect(url) as database, database.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        return set(cursor.fetchall())


@pytest.mark.xdist_group("migrations_upgrade")
def test_an_upgrade_blocked_by_a_lock_gives_up_after_the_timeout_then_finishes_when_run_again(old_portal, db):
    assert not set(REBUILT) & _applied(old_portal)
    # A report reading the invitations, still open in its transaction.
    report = psycopg2.connect(old_portal)
    with report.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM surveys_invitation")
    started = time.monotonic()
    try:
        blocked = _run(old_portal, "manage.py", "migrate", "--no-input", timeout=120, MIGRATION_LOCK_TIMEOUT="1s")
    finally:
        report.rollback()
        report.close()

    assert time.monotonic() - started < 60
    assert blocked.returncode == 1
    assert (
        "CommandError: surveys.0005_invitation_sent_covering gave up after waiting 1s for a lock "
        "that another session holds." in blocked.stderr
    ), blocked.stderr
    assert "run migrate again" in blocked.stderr
    assert ("surveys", "0005_invitation_sent_covering") not in _applied(old_portal)

    again = _run(old_portal, "manage.py", "migrate", "--no-input")

    assert again.returncode == 0, again.stderr
    assert set(REBUILT) <= _applied(old_portal)
    with psycopg2.connect(old_portal) as upgraded, upgraded.cursor() as cursor:
        upgraded_schema = _schema(cursor)
        cursor.execute("SELECT count(*), count(closed_at) FROM complaints_complaint")
        assert cursor.fetchone() == (300, 150)
    assert all(valid for _name, _definition, valid in upgraded_schema["indexes"])
    with connection.cursor() as cursor:
        assert upgraded_schema == _schema(cursor)  # the schema of a fresh install: the test database


def test_the_portals_own_connections_wait_for_locks_as_before(db):
    call_command("migrate", plan=True, stdout=io.StringIO())  # sets lock_timeout while it runs

    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone() == ("0",)
