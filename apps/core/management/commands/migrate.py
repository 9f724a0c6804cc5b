"""Django's `migrate`, with a lock_timeout on its own connection (#23, "Upgrades without downtime").

A migration step that needs a lock another session holds (a long report, a worker's open
transaction) waits for it, and PostgreSQL queues every later query on that table behind the
waiting step: the portal stops answering while the migration seems to hang. With lock_timeout the
step gives up after MIGRATION_LOCK_TIMEOUT (or --lock-timeout) and the command says which
migration it was and what to do. Only this command's session gets the setting: the portal's own
connections keep waiting for locks as they always did.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.migration import Migration

LOCK_NOT_AVAILABLE = "55P03"


@contextlib.contextmanager
def lock_timeout(connection: BaseDatabaseWrapper, timeout: str) -> Iterator[None]:
    """Set lock_timeout for the session of `connection`, and put the previous value back."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, false)", [timeout])
        previous = cursor.fetchone()[0]
    try:
        yield
    finally:
        # After a failure the connection may be gone or in an aborted transaction; a new
        # connection starts without the setting anyway.
        with contextlib.suppress(Exception), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [previous])


class Command(DjangoMigrateCommand):
    help = DjangoMigrateCommand.help + " Each statement waits at most --lock-timeout for a lock."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--lock-timeout",
            default=settings.MIGRATION_LOCK_TIMEOUT,
            help="How long a step may wait for a lock, in PostgreSQL's units (default %(default)s; 0 waits forever).",
        )

    def handle(self, *args, **options) -> None:
        self.running: Migration | None = None
        timeout = options["lock_timeout"]
        connection = connections[options["database"]]
        with lock_timeout(connection, timeout):
            try:
                super().handle(*args, **options)
            except OperationalError as error:
                if getattr(error.__cause__, "pgcode", None) != LOCK_NOT_AVAILABLE:
                    raise
                raise CommandError(self._gave_up(timeout)) from error

    def migration_progress_callback(self, action: str, migration: Migration | None = None, fake: bool = False) -> None:
        if action in {"apply_start", "unapply_start"}:
            self.running = migration
        super().migration_progress_callback(action, migration, fake)

    def _gave_up(self, timeout: str) -> str:
        name = f"{self.running.app_label}.{self.running.name}" if self.running else "A migration"
        done = (
            "Its earlier steps stay done (it runs outside a transaction); it is not marked applied."
            if self.running and not self.running.atomic
            else "Nothing of it was kept."
        )
        return (
            f"{name} gave up after waiting {timeout} for a lock that another session holds. {done} "
            "Find the session in pg_stat_activity (a long query or an idle transaction), let it "
            "finish, then run migrate again; or raise MIGRATION_LOCK_TIMEOUT / --lock-timeout."
        )
