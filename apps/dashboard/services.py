"""The dashboard's one write: the mark of a demo database (seed_demo, #23)."""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.db import connection
from django.utils import translation

from apps.accounts.models import User
from apps.dashboard.models import DemoDatabase

# Rows a database holds without anyone having used it: defaults the migrations write, roll-ups
# the portal derives from the records themselves, and the mark itself.
NOT_RECORDS = {"complaints.SlaPolicy", "dashboard.DemoDatabase"}
DERIVED_APPS = {"analytics"}
# Any 64-bit number of our own: the advisory lock two seeds take to not both find a database empty.
SEED_LOCK = 0x51_4D_53_5F_44_45_4D_4F  # "QMS_DEMO"


class NotADemoDatabase(Exception):
    """The database holds records the demo did not make."""


def demo_database_claim(*, demo_emails: Iterable[str]) -> DemoDatabase:
    """Allow the demo organisation into this database and mark the database as the demo's.

    Call inside the transaction that loads the demo, before it writes anything. A database with
    the mark is the demo's already. Without it, the database must hold no records, or only the
    demo's from before the mark existed (every account a demo login): anything else, a user, a
    customer, a complaint, means real data, and NotADemoDatabase is raised. Takes a
    transaction-level advisory lock, so that two seeds at once cannot both find it empty.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("demo_database_claim() must run inside the transaction that loads the demo.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEED_LOCK])
    mark = DemoDatabase.objects.first()
    if mark is not None:
        return mark
    found = _records()
    if found and not _seeded_before_the_mark(demo_emails):
        raise NotADemoDatabase(
            f"Refusing to load the demo: database {connection.settings_dict['NAME']!r} holds records "
            f"seed_demo did not make ({', '.join(found)}). The demo's logins share a public password "
            "and must never sit next to real data. Point DATABASE_URL at an empty database, or at "
            "one seed_demo made, and run it again."
        )
    return DemoDatabase.objects.create()


def _records() -> list[str]:
    """The kinds of record the database holds, by their plural names."""
    found = []
    with translation.override("en"):
        for config in apps.get_app_configs():
            if not config.name.startswith("apps.") or config.label in DERIVED_APPS:
                continue
            for model in config.get_models():
                if model._meta.label in NOT_RECORDS or model._meta.proxy or not model._meta.managed:
                    continue
                if model._base_manager.exists():
                    found.append(str(model._meta.verbose_name_plural))
    return found


def _seeded_before_the_mark(demo_emails: Iterable[str]) -> bool:
    # A demo database seeded before the mark existed: it has accounts, and every one is a demo
    # login. A copy of production always has real people's accounts (the demo's next to them, if
    # the old seed_demo was run on it, is exactly what must be refused).
    emails = {email.lower() for email in User.objects.values_list("email", flat=True)}
    return bool(emails) and emails <= {email.lower() for email in demo_emails}
