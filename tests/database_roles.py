"""The suite runs as an application role, as production does (#22 §6).

pytest-django creates and migrates the test database as the server's owner role; every test
then connects as a role prepared by grant_app_role, so a test of something the portal does
fails where production would be refused (a direct INSERT into the audit trail, say). Two
differences, for the test runner alone: the role may TRUNCATE, which Django's flush between
transactional tests needs, and read every session's statistics. A test that plays the database
owner (tampering with the trail, creating roles) says so with `as_owner()`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.db import connection
from psycopg2 import sql
from psycopg2.extensions import TRANSACTION_STATUS_INERROR

APP_ROLE = f"qms_test_app_{settings.RUN_NAME}"[:63]


def prepare_app_role() -> None:
    from apps.core.management.commands.grant_app_role import grant_app_role

    with connection.cursor() as cursor:
        grant_app_role(cursor, APP_ROLE)
        cursor.execute("SELECT current_schema()")
        schema = sql.Identifier(cursor.fetchone()[0])
        cursor.execute(
            sql.SQL("GRANT TRUNCATE ON ALL TABLES IN SCHEMA {} TO {}").format(schema, sql.Identifier(APP_ROLE))
        )
        # Concurrency tests watch other sessions wait on locks in pg_stat_activity, whose
        # details PostgreSQL shows only to the sessions' own user or to this role.
        cursor.execute(sql.SQL("GRANT pg_read_all_stats TO {}").format(sql.Identifier(APP_ROLE)))


def _set_options(options: str) -> None:
    connection.close()
    connection.settings_dict.setdefault("OPTIONS", {})["options"] = options
    connection.close()


@contextlib.contextmanager
def connected_as_app_role() -> Iterator[None]:
    options = connection.settings_dict.get("OPTIONS", {}).get("options", "")
    _set_options(f"{options} -c role={APP_ROLE}".strip())
    try:
        yield
    finally:
        _set_options(options)


@contextlib.contextmanager
def as_owner() -> Iterator[None]:
    """Act as the database owner on this connection for a moment (the session's own user)."""
    with connection.cursor() as cursor:
        cursor.execute("SET ROLE NONE")
    try:
        yield
    finally:
        # After an error, or once marked for rollback, the transaction's rollback restores the
        # role by itself (SET ROLE is transactional), and nothing else may run in it now.
        aborted = connection.connection.get_transaction_status() == TRANSACTION_STATUS_INERROR
        if not (aborted or connection.needs_rollback):
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(APP_ROLE)))
