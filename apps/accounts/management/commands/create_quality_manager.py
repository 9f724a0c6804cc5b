"""The first quality manager of a new installation, created through the audited service."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from apps.accounts import services
from apps.accounts.roles import Role
from apps.core.exceptions import BusinessRuleViolation


class Command(BaseCommand):
    help = (
        "Create a quality manager; an e-mail with a link (on SITE_URL) to set the password is sent through the outbox."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--full-name", required=True)

    def handle(self, *args, email, full_name, **options):
        try:
            validate_email(email)
            user = services.user_create(email=email, full_name=full_name, role=Role.QUALITY_MANAGER, actor=None)
        except (ValidationError, BusinessRuleViolation) as error:
            raise CommandError(" ".join(getattr(error, "messages", [str(error)]))) from error
        self.stdout.write(f"Quality manager #{user.pk} created; invitation e-mail queued.")
