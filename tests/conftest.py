"""Personas and clients shared by every test (STYLE.md rule 18)."""

import pytest
from django.test import Client

from apps.accounts.roles import Role
from tests.factories import UserFactory

PERSONAS = ["quality_manager", "staff", "other_staff", "auditor", "anonymous"]


@pytest.fixture
def quality_manager(db):
    return UserFactory(email="qm@example.com", full_name="Quinn Manager", role=Role.QUALITY_MANAGER)


@pytest.fixture
def staff(db):
    return UserFactory(email="staff1@example.com", full_name="Sasha Staff", role=Role.STAFF)


@pytest.fixture
def other_staff(db):
    return UserFactory(email="staff2@example.com", full_name="Omar Other", role=Role.STAFF)


@pytest.fixture
def auditor(db):
    return UserFactory(email="audit@example.com", full_name="Ada Auditor", role=Role.AUDITOR)


@pytest.fixture
def anonymous():
    return None


def _signed_in(users: dict, make_client, sign_in) -> dict:
    result = {"anonymous": make_client()}
    for name, user in users.items():
        client = make_client()
        sign_in(client, user)
        result[name] = client
    return result


@pytest.fixture
def personas(quality_manager, staff, other_staff, auditor) -> dict:
    return {"quality_manager": quality_manager, "staff": staff, "other_staff": other_staff, "auditor": auditor}


@pytest.fixture
def clients(personas):
    """A logged-in Django test client per persona; "anonymous" is not logged in."""
    return _signed_in(personas, Client, lambda client, user: client.force_login(user))


@pytest.fixture
def api_clients(personas):
    """DRF API clients per persona, authenticated as that user."""
    from rest_framework.test import APIClient

    return _signed_in(personas, APIClient, lambda client, user: client.force_authenticate(user))


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Throttles live in the Redis cache: start every test without this run's cache keys.

    Only this run's prefix is deleted (not FLUSHDB), so a second test run on
    the same Redis server, or its Celery queue, is left alone.
    """
    from apps.core.redis_client import redis_client

    client = redis_client()
    keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _isolated_checkpoint_log(settings, tmp_path):
    """Integrity checks, evidence packs and verify_audit_trail sign the chain's head, and the
    chain is rolled back with each test: a log shared between tests would hold checkpoints of
    entries the next test never wrote."""
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "audit-checkpoints.jsonl")


@pytest.fixture(autouse=True)
def _api_responses_match_schema(monkeypatch):
    """Every /api/ response a test receives through the test client must match the published
    OpenAPI schema: a drift fails the test that caused it (tests/api_schema.py)."""
    from tests.api_schema import check_client_responses

    check_client_responses(monkeypatch)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database as pytest-django made it, then every test as the application role."""
    from tests.database_roles import connected_as_app_role, prepare_app_role

    with django_db_blocker.unblock():
        prepare_app_role()
    with connected_as_app_role():
        yield
