"""Re-wrap every data key with the newest FIELD_ENCRYPTION_KEY, in every app.

Rotation (README.md "Rotating the encryption key"): put the new key first in
FIELD_ENCRYPTION_KEY, keeping the old ones after it, restart web, worker and
beat, run this command, check with `--check` that no key is left on an old
master key, then remove the old keys and restart. Field values are not
re-encrypted: only the small per-record data keys are wrapped by the master
key. The holders are apps.core.keys.KEY_HOLDERS.

Each batch is one transaction; a run cut off half-way is finished by running
it again (keys already wrapped by the newest master key are skipped).
"""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from apps.core import keys


class Command(BaseCommand):
    help = "Re-wrap the data keys of every app with the newest FIELD_ENCRYPTION_KEY (--check: only count)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--check", action="store_true", help="Count the data keys still wrapped by an older key; change nothing."
        )

    def handle(self, *args, batch_size: int, check: bool, **options):
        if check:
            tallies = keys.scan()
            for name, tally in tallies.items():
                self.stdout.write(f"{name}: {tally.old} of {tally.total} data keys wrapped by an older master key")
        else:
            try:
                tallies = keys.rotate(batch_size=batch_size, progress=self._progress)
            except ImproperlyConfigured as error:
                raise CommandError(str(error)) from error
        unreadable = {name: tally.unreadable for name, tally in tallies.items() if tally.unreadable}
        if unreadable:
            counts = ", ".join(f"{name}: {count}" for name, count in unreadable.items())
            raise CommandError(
                f"Data keys no configured master key opens ({counts}); they were left as they are. "
                + keys.FIX_UNREADABLE
            )
        left = sum(tally.old for tally in tallies.values())
        if left:
            self.stdout.write(f"{left} data keys still to re-wrap: run `manage.py rotate_encryption_keys`.")
        else:
            self.stdout.write(self.style.SUCCESS("Every data key is wrapped by the newest master key."))

    def _progress(self, name: str, tally: keys.Tally) -> None:
        self.stdout.write(f"{name}: {tally.rewrapped} re-wrapped, {tally.current} already current")
