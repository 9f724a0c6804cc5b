"""Prepare the database role the portal runs as in production.

The schema owner runs the migrations; the web, worker and beat processes connect as this role,
which may read and write every table but only read and append to the audit trail (ISO 9001
7.5): a compromised or buggy application cannot rewrite or erase history, and, not owning the
table, cannot disable its triggers either. Run as the owner after each `migrate`:

    DATABASE_URL=<owner> python manage.py grant_app_role qms_app --password-env QMS_APP_DB_PASSWORD

Creating the role, or setting another role's password, needs CREATEROLE, which managed
PostgreSQL services often withhold from the owner. Without it the command prints the SQL a
database administrator runs once instead; afterwards the owner's runs find the role and only
grant (leaving the password the administrator set).
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from psycopg2 import errors, sql

# Tables the application may only read, and the functions through which it appends to them.
APPEND_ONLY_TABLES = ["audit_auditentry"]
APPEND_FUNCTIONS = [
    "audit_append(bytea, bytea, bytea, varchar, bigint, varchar, integer, varchar, varchar, jsonb, text)"
]


class RoleRefused(Exception):
    """The connected role may not create or change the application role."""


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
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                password_set = grant_app_role(cursor, role, password=password)
        except RoleRefused:
            with connection.cursor() as cursor:
                raise CommandError(_refusal(cursor, role, password_env)) from None
        if password and not password_set:
            self.stderr.write(
                f"The password of {role} was left as it is: this role may not change another role's "
                f"password (no CREATEROLE). If the portal cannot log in, have a DBA set it to {password_env}."
            )
        self.stdout.write(f"Role {role}: read and write on the portal's tables, append-only on the audit trail.")


def grant_app_role(cursor, role: str, *, password: str = "") -> bool:
    """Create `role` if it is missing, set its password when given, and grant it the portal's
    rights. Returns whether the password was set: on an existing role it is left alone when the
    connected role may not change it. Raises RoleRefused when the role is missing and may not be
    created, before anything else is done."""
    name = sql.Identifier(role)
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    exists = cursor.fetchone() is not None
    password_set = False
    if not exists:
        try:
            with transaction.atomic():
                cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))
        except DatabaseError as error:
            if isinstance(error.__cause__, errors.InsufficientPrivilege):
                raise RoleRefused(role) from error
            raise
    if password:
        try:
            # A savepoint: when refused, the grants below still run in this transaction.
            with transaction.atomic():
                cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(name), [password])
            password_set = True
        except DatabaseError as error:
            if exists and isinstance(error.__cause__, errors.InsufficientPrivilege):
                password_set = False
            else:
                raise
    for statement in grant_statements(cursor, role):
        cursor.execute(statement)
    return password_set


def grant_statements(cursor, role: str) -> list[sql.Composed]:
    """The grants that make `role` the application role of the connected database's schema. The
    default privileges name the connected role (the owner, who creates the tables of later
    migrations), so that a superuser can run them on the owner's behalf too."""
    name = sql.Identifier(role)
    cursor.execute("SELECT current_schema(), current_user")
    schema_name, owner_name = cursor.fetchone()
    schema, owner = sql.Identifier(schema_name), sql.Identifier(owner_name)
    templates = [
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        # Tables the next migrations create get the same rights (they are created by the owner).
        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
        "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
        "GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role}",
        "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {schema} FROM {role}",
    ]
    statements = [sql.SQL(template).format(schema=schema, role=name, owner=owner) for template in templates]
    for table in APPEND_ONLY_TABLES:
        # Not even INSERT: entries are appended only by audit_append(), which runs with the
        # owner's rights and sets seq, created_at and the hash itself.
        statements.append(
            sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {table} FROM {role}").format(
                table=sql.Identifier(schema_name, table), role=name
            )
        )
    for function in APPEND_FUNCTIONS:
        statements.append(
            sql.SQL("GRANT EXECUTE ON FUNCTION {schema}.{function} TO {role}").format(
                schema=schema, function=sql.SQL(function), role=name
            )
        )
    return statements


def _refusal(cursor, role: str, password_env: str | None) -> str:
    """What to do when the owner may not create the role: the SQL a DBA runs once instead."""
    cursor.execute("SELECT current_user, current_database()")
    owner, database = cursor.fetchone()
    raw = cursor.connection
    lines = [sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)).as_string(raw) + ";"]
    if password_env:
        # Not the password itself: it would end up in terminals and logs. psql asks for it.
        quoted = sql.Identifier(role).as_string(raw)
        lines.append(f"\\password {quoted}   -- in psql: enter the value of {password_env}")
    lines += [statement.as_string(raw) + ";" for statement in grant_statements(cursor, role)]
    script = "\n".join(f"    {line}" for line in lines)
    return (
        f"The role {owner} may not create roles (it has no CREATEROLE), so {role} cannot be created. "
        f"Either let it (as a superuser: ALTER ROLE {sql.Identifier(owner).as_string(raw)} CREATEROLE;) and run "
        f"this command again, or have a database administrator run this once, as a superuser connected to "
        f"database {database}:\n\n{script}\n\n"
        f"Then run grant_app_role as {owner} after every migrate, as before: it finds {role} and only grants."
    )
