import shutil
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User
from apps.core.exceptions import BusinessRuleViolation
from apps.evidence import services
from apps.evidence.models import EvidencePack


class Command(BaseCommand):
    help = "Build an evidence pack here and now (as a named auditor or quality manager) and copy it to --out."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="e-mail address of the auditor or quality manager")
        parser.add_argument("--clauses", nargs="+", required=True, help='e.g. 9.1.2 10.2 "ISO 10002"')
        parser.add_argument("--from", dest="start", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, type=date.fromisoformat, help="YYYY-MM-DD, inclusive")
        parser.add_argument("--customers", default="", help="customer numbers, comma-separated")
        parser.add_argument("--products", default="", help="product numbers, comma-separated")
        parser.add_argument("--personal-data", action="store_true", help="include personal data (needs permission)")
        parser.add_argument("--out", required=True, help="where to write the pack (.zip)")

    def handle(self, *args, **options):
        user = User.objects.filter(email__iexact=options["user"], is_active=True).first()
        if user is None or not user.has_perm("audit.view_evidence"):
            raise CommandError(f"{options['user']} is not an active user who may export evidence.")
        try:
            customers = [int(part) for part in options["customers"].split(",") if part.strip()]
            products = [int(part) for part in options["products"].split(",") if part.strip()]
        except ValueError as error:
            raise CommandError("Customers and products are numbers separated by commas.") from error
        try:
            pack = services.pack_request(
                actor=user,
                clauses=options["clauses"],
                period_start=options["start"],
                period_end=options["end"],
                customer_ids=customers,
                product_ids=products,
                include_personal_data=options["personal_data"],
                enqueue=False,
            )
        except BusinessRuleViolation as error:
            raise CommandError(str(error)) from error
        if pack.status != EvidencePack.Status.READY:
            built = services.pack_build(pack_id=pack.pk)
            if built is None:
                # The identical request from the portal is being built by a worker right now.
                raise CommandError(
                    f"Evidence pack #{pack.pk}, the same request, is being built by a worker; "
                    "run this again when it is ready."
                )
            pack = built
        shutil.copyfile(services.pack_path(pack), options["out"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Evidence pack #{pack.pk}: {pack.record_count} records, {pack.size} bytes, "
                f"SHA-256 {pack.sha256}, written to {options['out']}."
            )
        )
