"""Prepare the database role the portal runs as in production.

The schema owner runs the migrations; the web, worker and beat processes connect as this role,
which may read and write every table but only read and append to the audit trail (ISO 9001
7.5): a compromised or buggy application cannot rewrite or erase history, and, not owning the
table, cannot disable its triggers either. Run as the owner after each `migrate`:

    DATABASE_URL=<owner> python manage.py grant_app_role qms_app --password-env QMS_APP_DB_PASSWORD
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg2 import sql

# Tables the application may only read, and the functions through which it appends to them.
APPEND_ONLY_TABLES = ["audit_auditentry"]
APPEND_FUNCTIONS = [
    "audit_append(bytea, bytea, bytea, varchar, bigint, varchar, integer, varchar, varchar, jsonb, text)"
]


class Command(BaseCommand):
    help = "Create or update the application's database role: DML everywhere, append-only on the audit trail."

    def add_arguments(self, parser):
        parser.add_argument("role", help="name of the role the portal connects as")
        parser.add_argument(
            "--password-env",
            help="environment variable holding the role's password (the role is created with LOGIN)",
        )

    def handle(self, *args, role: str, password_env: str | None = None, **options):
        password = os.environ.get(password_env, "") if password_env else ""
        if password_env and not password:
            raise CommandError(f"{password_env} is not set.")
        with transaction.atomic(), connection.cursor() as cursor:
            grant_app_role(cursor, role, password=password)
        self.stdout.write(f"Role {role}: read and write on the portal's tables, append-only on the audit trail.")


def grant_app_role(cursor, role: str, *, password: str = "") -> None:
    name = sql.Identifier(role)
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if cursor.fetchone() is None:
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))
    if password:
        cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(name), [password])
    cursor.execute("SELECT current_schema()")
    schema = sql.Identifier(cursor.fetchone()[0])
    statements = [
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        # Tables the next migrations create get the same rights (they are created by the owner).
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role}",
        "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {schema} FROM {role}",
    ]
    for statement in statements:
        cursor.execute(sql.SQL(statement).format(schema=schema, role=name))
    for table in APPEND_ONLY_TABLES:
        # Not even INSERT: entries are appended only by audit_append(), which runs with the
        # owner's rights and sets seq, created_at and the hash itself.
        cursor.execute(
            sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {table} FROM {role}").format(
                table=sql.Identifier(table), role=name
            )
        )
    for function in APPEND_FUNCTIONS:
        cursor.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(function), name))
