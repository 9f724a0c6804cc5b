"""python manage.py backup [--to DIR]: the database and media files, with a manifest (apps/core/backup.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.core import backup


class Command(BaseCommand):
    help = "Back up the database (pg_dump custom format) and the media files, with a manifest to check a restore."

    def add_arguments(self, parser):
        parser.add_argument("--to", type=Path, help="an empty folder to write to (default: BACKUP_ROOT/<time>)")

    def handle(self, *args, to: Path | None = None, **options):
        try:
            result = backup.backup(to)
        except (backup.RestoreError, FileExistsError) as error:
            raise CommandError(str(error)) from error
        manifest = result.manifest
        self.stdout.write(
            f"Backup in {result.folder}: {sum(manifest['row_counts'].values())} rows in "
            f"{len(manifest['row_counts'])} tables, audit chain head {manifest['audit_head']}, "
            f"{len(manifest['media'])} media files, {result.seconds:.1f} s."
        )
