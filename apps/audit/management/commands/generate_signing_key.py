from django.core.management.base import BaseCommand

from apps.audit.checkpoints import generate_private_key


class Command(BaseCommand):
    help = "Print a new Ed25519 private key for PORTAL_SIGNING_KEY (keep it secret; it signs checkpoints and evidence)."

    def handle(self, *args, **options):
        self.stdout.write(generate_private_key())
