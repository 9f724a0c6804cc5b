"""Demo organisation for development. Idempotent: running it again adds nothing.

It loads only into an empty database or one it loaded before (apps.dashboard.services.
demo_database_claim): with development settings and DATABASE_URL pointing at a copy of production
data, it once created the demo logins, public password and all, next to real records (#23).

Each domain app keeps its demo records in its own `demo.py` with a
`load(users)` function; this command calls them in dependency order.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts import services as accounts
from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.actions import demo as actions_demo
from apps.analytics import services as analytics
from apps.complaints import demo as complaints_demo
from apps.customers import demo as customers_demo
from apps.dashboard.services import NotADemoDatabase, demo_database_claim
from apps.feedback import demo as feedback_demo
from apps.objectives import demo as objectives_demo
from apps.requirements import demo as requirements_demo
from apps.reviews import demo as reviews_demo
from apps.surveys import demo as surveys_demo


def fold_into_rollups(users) -> None:
    """The objectives' computed history reads the roll-ups, so they must hold the demo data first."""
    analytics.rebuild()


DEMO_LOADERS = [
    customers_demo.load,
    requirements_demo.load,
    actions_demo.load,
    complaints_demo.load,
    feedback_demo.load,
    surveys_demo.load,
    fold_into_rollups,
    objectives_demo.load,
    reviews_demo.load,
]
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - development-only demo logins, refused in production
DEMO_USERS = [
    ("manager@example.com", "Maria Manager", Role.QUALITY_MANAGER),
    ("staff@example.com", "Sam Staff", Role.STAFF),
    ("auditor@example.com", "Alex Auditor", Role.AUDITOR),
]


class Command(BaseCommand):
    help = "Load the demo organisation (development only; idempotent)."

    def handle(self, *args, **options):
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError("Demo data is for development only (DEMO_DATA_ALLOWED is off in these settings).")
        created = 0
        with transaction.atomic():
            try:
                demo_database_claim(demo_emails=[email for email, _name, _role in DEMO_USERS])
            except NotADemoDatabase as refused:
                raise CommandError(str(refused)) from None
            for email, full_name, role in DEMO_USERS:
                if User.objects.filter(email__iexact=email).exists():
                    continue
                accounts.user_create(email=email, full_name=full_name, role=role, password=DEMO_PASSWORD, actor=None)
                created += 1
            users = {role: User.objects.get(email__iexact=email) for email, _name, role in DEMO_USERS}
            for loader in DEMO_LOADERS:
                loader(users)
        self.stdout.write(f"Demo data ready ({created} users created).")
