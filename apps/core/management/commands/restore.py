"""python manage.py restore DIR [--into DATABASE_URL] [--media-root DIR]: restore a backup into an
empty database and media folder, then prove it complete against the backup's manifest."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.core import backup


class Command(BaseCommand):
    help = "Restore a backup into an empty database and media folder and compare it with its manifest."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="a folder written by `manage.py backup`")
        parser.add_argument("--into", help="URL of an empty database (default: a new database on this server)")
        parser.add_argument("--media-root", type=Path, help="an empty folder for the media files")

    def handle(self, *args, folder: Path, into: str | None = None, media_root: Path | None = None, **options):
        target = backup.parse_database_url(into) if into else None
        try:
            result = backup.restore(folder, into=target, media_root=media_root)
        except (backup.RestoreError, FileNotFoundError) as error:
            raise CommandError(str(error)) from error
        if result.differences:
            raise CommandError("The restored copy differs from the backup:\n" + "\n".join(result.differences))
        if result.has_audit_trail:
            chain = backup.verify_restored_chain(result.database)
            if chain.returncode != 0:
                raise CommandError(f"The restored audit trail does not verify:\n{chain.stdout}{chain.stderr}")
            verified = chain.stdout.strip()
        else:
            verified = "the backup holds no audit trail (an unmigrated database)."
        self.stdout.write(
            f"Restored into {backup.database_url(result.database, password=False)} and {result.media_root} "
            f"in {result.seconds:.1f} s: row counts, audit chain head and media checksums match the backup; "
            f"{verified}"
        )
