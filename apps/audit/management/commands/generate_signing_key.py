"""Print a new PORTAL_SIGNING_KEY. manage.py runs this command without loading settings
(WITHOUT_SETTINGS there), so it works before the key production settings require exists; it
must therefore import nothing that needs Django set up."""

from django.core.management.base import BaseCommand

from apps.audit.signing_keys import generate_private_key


class Command(BaseCommand):
    help = "Print a new Ed25519 private key for PORTAL_SIGNING_KEY (keep it secret; it signs checkpoints and evidence)."
    # No settings are loaded when manage.py runs it, so there is nothing to check.
    requires_system_checks = []

    def handle(self, *args, **options):
        self.stdout.write(generate_private_key())
