"""python manage.py restore DIR [--into DATABASE_URL] [--media-root DIR]: restore a backup into an
empty database and media folder as the owner role, grant the application role its rights again,
prove the copy complete against the backup's manifest and its audit trail intact against the
backup's checkpoints, and start the copy's checkpoint log with a signed "restored to entry N"."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.core import backup


class Command(BaseCommand):
    help = (
        "Restore a backup (decrypted with BACKUP_IDENTITY_FILE) into an empty database and media folder, "
        "compare it with its manifest and verify its audit trail against the backup's checkpoints."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="a folder written by `manage.py backup`")
        parser.add_argument(
            "--into",
            help="URL of an empty database, connecting as the role that owns it "
            "(default: a new database on this server, which needs CREATEDB)",
        )
        parser.add_argument("--media-root", type=Path, help="an empty folder for the media files")
        parser.add_argument("--identity", type=Path, help="age identity file (default: BACKUP_IDENTITY_FILE)")

    def handle(self, *args, folder: Path, into=None, media_root=None, identity=None, **options):
        target = backup.parse_database_url(into) if into else None
        try:
            result = backup.restore(folder, into=target, media_root=media_root, identity_file=identity)
        except (backup.RestoreError, FileNotFoundError) as error:
            raise CommandError(str(error)) from error
        if result.differences:
            raise CommandError("The restored copy differs from the backup:\n" + "\n".join(result.differences))
        copy = f"{backup.database_url(result.database, password=False)} and {result.media_root}"
        verification = result.verification
        if verification is not None and not verification.ok:
            raise CommandError(
                f"The restored audit trail in {copy} does not verify against the backup's checkpoints: entry "
                f"#{verification.first_bad_seq}: {verification.problem}. Do not serve this copy."
            )
        if result.restored_to is not None:
            verified = (
                f"audit trail intact: {verification.verified} entries verified against "
                f"{verification.checkpoints} signed checkpoints of the backup; {result.checkpoint_log} starts "
                f"with them and a signed checkpoint 'restored to entry #{result.restored_to.seq}' "
                f"({result.restored_to.restored_from}). Serve the copy with "
                f"AUDIT_CHECKPOINT_PATH={result.checkpoint_log}."
            )
        elif result.has_audit_trail:
            verified = f"audit trail intact ({verification.verified} entries; the chain is empty)."
        else:
            verified = "the backup holds no audit trail (an unmigrated database)."
        self.stdout.write(
            f"Restored into {copy} in {result.seconds:.1f} s: row counts, audit chain head and media "
            f"checksums match the backup; {verified}"
        )
