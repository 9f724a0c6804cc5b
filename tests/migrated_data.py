"""Rows the project's data migrations write (role groups and their permissions), written again on demand.

A transactional test (browser, worker) ends with a flush that empties every table, these included.
serialized_rollback cannot be relied on to reload them: once any transactional test without it has
flushed, post_migrate re-creates content types under new keys and the reload collides.
"""

from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.operations import RunPython
from django.db.migrations.state import ProjectState

from apps.accounts.roles import GROUP_NAMES


def ensure_role_groups() -> None:
    if Group.objects.filter(name__in=GROUP_NAMES.values()).count() < len(GROUP_NAMES):
        replay_data_migrations()


def replay_data_migrations() -> None:
    # Each RunPython runs against the models as they were at its migration, like `migrate` does.
    # Only the project's own apps: third-party data migrations fix up rows, they do not create any.
    # Our own row fix-ups (encrypting existing text, say) are marked elidable and skipped too:
    # they read columns that later migrations removed.
    executor = MigrationExecutor(connection)
    project_apps = {config.label for config in django_apps.get_app_configs() if config.name.startswith("apps.")}
    state = ProjectState(real_apps=executor.loader.unmigrated_apps)
    with connection.schema_editor() as schema_editor:
        for migration, _backwards in executor.migration_plan(executor.loader.graph.leaf_nodes(), clean_start=True):
            for operation in migration.operations:
                if isinstance(operation, RunPython) and migration.app_label in project_apps and not operation.elidable:
                    operation.code(state.apps, schema_editor)
                operation.state_forwards(migration.app_label, state)
