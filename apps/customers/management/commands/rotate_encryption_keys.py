"""Re-wrap every contact's data key with the newest FIELD_ENCRYPTION_KEY.

Rotation: put the new key first in FIELD_ENCRYPTION_KEY (keeping the old ones
after it), restart, run this command, then remove the old keys. Field values
are not re-encrypted: they are encrypted with per-contact data keys, and only
those small keys are wrapped by the master key.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.core.crypto import rewrap
from apps.customers.models import Contact


class Command(BaseCommand):
    help = "Re-wrap personal-data keys with the newest FIELD_ENCRYPTION_KEY."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        rewrapped = 0
        last_pk = 0
        while True:
            with transaction.atomic():
                batch = list(
                    Contact.objects.select_for_update()
                    .filter(pk__gt=last_pk)
                    .exclude(data_key="")
                    .order_by("pk")
                    .only("pk", "data_key")[:batch_size]
                )
                if not batch:
                    break
                for contact in batch:
                    # The data key is not part of the record: no audit entry per row.
                    Contact.objects.filter(pk=contact.pk).unaudited_update(data_key=rewrap(contact.data_key))
                last_pk = batch[-1].pk
                rewrapped += len(batch)
        self.stdout.write(self.style.SUCCESS(f"{rewrapped} data keys re-wrapped with the newest master key."))
