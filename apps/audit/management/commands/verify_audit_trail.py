from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import verify_chain


class Command(BaseCommand):
    help = (
        "Recompute the audit trail's hash chain and check it against the signed checkpoints. "
        "Exit 0 when intact; non-zero naming the first broken entry."
    )

    def handle(self, *args, **options):
        result = verify_chain()
        if not result.ok:
            raise CommandError(
                f"Audit trail BROKEN at entry #{result.first_bad_seq}: {result.problem} "
                f"({result.verified} entries verified before it)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit trail intact: {result.verified} entries verified "
                f"against {result.checkpoints} signed checkpoints."
            )
        )
