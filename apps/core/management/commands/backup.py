"""python manage.py backup [--to DIR] [--allow-empty] [--other-database]: the database and media
files with the audit checkpoints and a manifest, encrypted to BACKUP_RECIPIENTS (apps/core/backup.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.core import backup


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump custom format), the media files and the audit checkpoints, with a "
        "manifest to check a restore; every file encrypted to the age keys in BACKUP_RECIPIENTS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--to", type=Path, help="an empty folder to write to (default: BACKUP_ROOT/<time>)")
        parser.add_argument(
            "--allow-empty",
            action="store_true",
            help="back up a database without tables or records (refused otherwise: it is not the portal's data)",
        )
        parser.add_argument(
            "--other-database",
            action="store_true",
            help="back up DATABASE_URL's database although the running portal (make run) serves another one",
        )

    def handle(self, *args, to: Path | None = None, allow_empty=False, other_database=False, **options):
        try:
            result = backup.backup(to, allow_empty=allow_empty, other_database=other_database)
        except (backup.BackupError, FileExistsError) as error:
            raise CommandError(str(error)) from error
        manifest = result.manifest
        self.stdout.write(
            f"Backup in {result.folder}: {sum(manifest['row_counts'].values())} rows in "
            f"{len(manifest['row_counts'])} tables, audit chain head {manifest['audit_head']} with "
            f"{manifest['checkpoints']} signed checkpoints, {len(manifest['media'])} media files, "
            f"encrypted to {len(backup.recipients())} age recipient(s), {result.seconds:.1f} s."
        )
