from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.audit import checkpoints
from apps.evidence.verify_pack import verify


class Command(BaseCommand):
    help = (
        "Check an evidence pack: every file against the signed manifest, and the signature against the "
        "portal's keys (or --public-key). Exit 0 when intact; otherwise every problem is listed."
    )

    def add_arguments(self, parser):
        parser.add_argument("pack")
        parser.add_argument("--public-key", help="verify with this key (base64) instead of the portal's own")

    def handle(self, *args, **options):
        keys = (
            [options["public_key"]]
            if options["public_key"]
            else [
                checkpoints.public_key_b64(),
                *settings.AUDIT_TRUSTED_PUBLIC_KEYS,
            ]
        )
        results = [verify(options["pack"], key) for key in keys]
        if any(not problems for problems in results):
            self.stdout.write(
                self.style.SUCCESS(f"{options['pack']}: intact (every file matches the signed manifest).")
            )
            return
        raise CommandError(f"{options['pack']}: NOT INTACT\n" + "\n".join(f"  - {p}" for p in results[0]))
