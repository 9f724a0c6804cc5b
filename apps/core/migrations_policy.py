"""What a migration may do to a large table while the portal keeps serving (#23, "Upgrades without
downtime").

A plain CREATE INDEX blocks every write to its table until the index is built; a DROP INDEX, an
ALTER that rewrites or scans the table, or a constraint that validates every row holds the table
against reads too, and inside a migration's transaction those locks last until COMMIT. On a table
that grows with every customer that means minutes of a portal answering nothing. On those tables,
indexes are built and dropped CONCURRENTLY (AddIndexConcurrently / RemoveIndexConcurrently in a
migration with `atomic = False`), and columns change only in ways PostgreSQL does without touching
the rows.

`violations()` walks every migration the way `migrate` would and names each step that breaks this;
tests/core/test_migrations_policy.py fails on any of them. A table created in the same migration is
empty, so what happens to it there is free. Every migration also runs under a lock_timeout (see
apps/core/management/commands/migrate.py), so a step that must wait for a lock gives up instead of
queueing every other query behind it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.state import ProjectState
from django.db.models.fields import NOT_PROVIDED

# Tables that grow with every customer, submission or e-mail: "app_label.model_name", lower case.
# Small reference tables (categories, products, users, policies) are left out on purpose: locking
# them for a moment is harmless, and a list of everything would stop meaning "large".
LARGE_TABLES = frozenset(
    {
        "audit.auditentry",
        "complaints.complaint",
        "core.outboundemail",
        "feedback.feedback",
        "surveys.answer",
        "surveys.invitation",
        "surveys.response",
    }
)

# Migrations written before this policy that break it, and why each is left as it is. An entry
# here must still offend (the test checks), so a fixed migration cannot stay excused.
GRANDFATHERED: dict[tuple[str, str], str] = {
    ("complaints", "0009_submission_key"): (
        "A nullable UNIQUE column: PostgreSQL builds its index inside the ALTER TABLE. Doing it "
        "concurrently needs a hand-written ADD COLUMN, CREATE UNIQUE INDEX CONCURRENTLY and ADD "
        "CONSTRAINT ... USING INDEX whose names must match what Django created on every "
        "installation that already has it. The column is all NULL, so the build is one pass: the "
        "ALTER held 1.5 million complaints (1.6 GB) for about 1 s on the development server."
    ),
    ("feedback", "0008_submission_key"): (
        "Same as complaints 0009_submission_key: a nullable UNIQUE column built in one pass."
    ),
    ("core", "0006_outbox_personal_data"): (
        "Seals waiting e-mails and drops the plaintext columns in one transaction on purpose: "
        "split into non-atomic steps, a failure half-way would leave addresses and bodies in "
        "clear next to their sealed copies. The outbox keeps only unsent rows' content, and "
        "the step is a one-off of the personal-data change."
    ),
}

_PLAIN_CREATE_INDEX = re.compile(
    r"\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)(?:IF\s+NOT\s+EXISTS\s+)?\S+\s+ON\s+(?:ONLY\s+)?\"?(\w+)\"?",
    re.IGNORECASE,
)
_PLAIN_DROP_INDEX = re.compile(r"\bDROP\s+INDEX\s+(?!CONCURRENTLY\b)", re.IGNORECASE)
_ALTER_TYPE = re.compile(
    r"\bALTER\s+TABLE\s+(?:ONLY\s+)?\"?(\w+)\"?[^;]*\bALTER\s+(?:COLUMN\s+)?\S+\s+(?:SET\s+DATA\s+)?TYPE\b",
    re.IGNORECASE,
)
# varchar(n) -> varchar(m >= n) or text changes only the catalogue, not the rows.
_VARCHAR = re.compile(r"varchar\((\d+)\)")


def is_large(app_label: str, model_name: str) -> bool:
    return f"{app_label}.{model_name.lower()}" in LARGE_TABLES


def _db_table(state: ProjectState, app_label: str, model_name: str) -> str:
    model_state = state.models[app_label, model_name.lower()]
    return model_state.options.get("db_table") or f"{app_label}_{model_name.lower()}"


def _column_type(field: models.Field) -> str | None:
    # Relational fields take their type from the target's key: only a changed target changes it,
    # and that is a RemoveField/AddField in any migration Django writes.
    if field.is_relation:
        return None
    return field.db_type(connection)


def _rewrites(old_type: str | None, new_type: str | None) -> bool:
    if old_type is None or new_type is None or old_type == new_type:
        return False
    old_length = _VARCHAR.fullmatch(old_type)
    if old_length and new_type == "text":
        return False
    new_length = _VARCHAR.fullmatch(new_type)
    return not (old_length and new_length and int(new_length[1]) >= int(old_length[1]))


def _builds_index(field: models.Field) -> bool:
    return not field.primary_key and (field.unique or field.db_index)


def _add_field(operation: migrations.AddField) -> list[str]:
    field = operation.field
    if field.many_to_many:
        return []
    problems = []
    if _builds_index(field):
        problems.append(
            f"adds column {operation.name} with an index (unique or db_index), built while the ALTER "
            "holds the table: add the column plain, then AddIndexConcurrently"
        )
    if field.db_default is not NOT_PROVIDED and not isinstance(field.db_default, models.Value):
        problems.append(
            f"adds column {operation.name} with a computed database default, which may be volatile "
            "and rewrite every row: add it nullable and fill it in batches"
        )
    # Django fills a blank text column with "" (its effective default), so only a column with no
    # value at all for the existing rows fails.
    fills_blank = field.blank and field.empty_strings_allowed
    if not field.null and not field.has_default() and field.db_default is NOT_PROVIDED and not fills_blank:
        problems.append(
            f"adds column {operation.name} NOT NULL without a default, which fails on a table that has "
            "rows: give it a default or make it nullable"
        )
    return problems


def _alter_field(operation: migrations.AlterField, state: ProjectState, app_label: str) -> list[str]:
    old = state.models[app_label, operation.model_name_lower].fields[operation.name]
    new = operation.field
    problems = []
    old_type, new_type = _column_type(old), _column_type(new)
    if _rewrites(old_type, new_type):
        problems.append(
            f"changes column {operation.name} from {old_type} to {new_type}, which rewrites the table "
            "under a lock that blocks reads: add a new column and copy in batches"
        )
    if old.null and not new.null:
        problems.append(
            f"makes column {operation.name} NOT NULL, which scans every row while holding the table "
            "against reads: add a CHECK (... IS NOT NULL) NOT VALID and validate it first"
        )
    if _builds_index(new) and not _builds_index(old):
        problems.append(
            f"gives column {operation.name} an index (unique or db_index), built while the ALTER holds "
            "the table: use AddIndexConcurrently"
        )
    return problems


def _run_sql(operation: migrations.RunSQL, large_tables: set[str]) -> list[str]:
    statements = operation.sql if isinstance(operation.sql, list | tuple) else [operation.sql]
    text = "\n".join(part if isinstance(part, str) else part[0] for part in statements)
    problems = []
    for match in _PLAIN_CREATE_INDEX.finditer(text):
        if match[1] in large_tables:
            problems.append(f"runs CREATE INDEX on {match[1]} without CONCURRENTLY")
    for match in _ALTER_TYPE.finditer(text):
        if match[1] in large_tables:
            problems.append(f"changes a column's type on {match[1]}, which rewrites the table")
    # DROP INDEX does not name its table: any plain one is suspect once a large table exists.
    if _PLAIN_DROP_INDEX.search(text) and large_tables:
        problems.append("runs DROP INDEX without CONCURRENTLY")
    return problems


def _operation_problems(
    operation: migrations.operations.base.Operation, migration: Migration, state: ProjectState, created: set[str]
) -> list[str]:
    app_label = migration.app_label
    if isinstance(operation, AddIndexConcurrently | RemoveIndexConcurrently):
        return ["runs a concurrent index step inside a transaction: set atomic = False"] if migration.atomic else []
    if isinstance(operation, migrations.SeparateDatabaseAndState):
        # What runs on the database is what counts, whatever the state side says.
        inner_state = state.clone()
        problems = []
        for inner in operation.database_operations:
            problems += _operation_problems(inner, migration, inner_state, created)
            inner.state_forwards(app_label, inner_state)
        return problems
    if isinstance(operation, migrations.RunSQL):
        large = {
            _db_table(state, label, name)
            for (label, name) in state.models
            if is_large(label, name) and f"{label}.{name}" not in created
        }
        return _run_sql(operation, large)
    model_name = getattr(operation, "model_name_lower", None) or getattr(operation, "name_lower", None)
    if model_name is None or not is_large(app_label, model_name) or f"{app_label}.{model_name}" in created:
        return []
    if isinstance(operation, migrations.AddIndex):
        return [
            f"builds index {operation.index.name} with a plain CREATE INDEX, which blocks writes until it "
            "is built: use AddIndexConcurrently in a migration with atomic = False"
        ]
    if isinstance(operation, migrations.RemoveIndex):
        return [
            f"drops index {operation.name} with a plain DROP INDEX, which holds the table against reads "
            "until the migration commits: use RemoveIndexConcurrently in a migration with atomic = False"
        ]
    if isinstance(operation, migrations.AddConstraint):
        return [
            f"adds constraint {operation.constraint.name}, which builds an index or checks every row while "
            "holding the table: build a unique index concurrently, add a check NOT VALID, then validate"
        ]
    if isinstance(operation, migrations.AlterUniqueTogether | migrations.AlterIndexTogether):
        return [f"changes {operation.option_name}, which builds indexes under lock: use AddIndexConcurrently"]
    if isinstance(operation, migrations.AddField):
        return _add_field(operation)
    if isinstance(operation, migrations.AlterField):
        return _alter_field(operation, state, app_label)
    return []


def offences(migration: Migration, state: ProjectState) -> list[str]:
    """Name each step of `migration` that would lock a large table, given the state before it.

    Leaves `state` as it was: the steps are played on a copy.
    """
    state = state.clone()
    created: set[str] = set()
    found = []
    for operation in migration.operations:
        for problem in _operation_problems(operation, migration, state, created):
            found.append(f"{migration.app_label}.{migration.name}: {problem}")
        if isinstance(operation, migrations.CreateModel):
            created.add(f"{migration.app_label}.{operation.name_lower}")
        operation.state_forwards(migration.app_label, state)
    return found


def plan(loader: MigrationLoader) -> Iterable[tuple[str, str]]:
    """Every migration, each after those it depends on, as `migrate` on an empty database applies them."""
    seen: set[tuple[str, str]] = set()
    for leaf in sorted(loader.graph.leaf_nodes()):
        for key in loader.graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                yield key


def walk(loader: MigrationLoader | None = None) -> dict[tuple[str, str], list[str]]:
    """Every migration that offends, in the order `migrate` applies them, grandfathered or not."""
    loader = loader or MigrationLoader(None, ignore_no_migrations=True)
    state = ProjectState(real_apps=loader.unmigrated_apps)
    found = {}
    for key in plan(loader):
        migration = loader.graph.nodes[key]
        problems = offences(migration, state)
        if problems:
            found[key] = problems
        state = migration.mutate_state(state, preserve=False)
    return found


def violations(loader: MigrationLoader | None = None) -> list[str]:
    """The offences no entry of GRANDFATHERED excuses."""
    return [problem for key, problems in walk(loader).items() if key not in GRANDFATHERED for problem in problems]
