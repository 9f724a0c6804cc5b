"""The smoke run of the benchmark data (issue #9): sizes XS and S of tests/bench/data.py are
loaded, in turn, into the ordinary test database inside a transaction that is rolled back, and
the hard, non-timing properties are measured there once per module. The tests then only
assert on what was measured, so nothing of the bench data outlives the fixture, whatever fails.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.roles import Role
from tests.bench.data import load
from tests.bench.reference import differences, reference_dashboard, subject_dashboard
from tests.database_roles import as_owner
from tests.factories import UserFactory

SIZES = ("XS", "S")
PAGE_SIZES = (10, 100)
API_LISTS = ("api:feedback-list", "api:complaint-list", "api:survey-response-list")
PAGES = ("feedback:feedback_list", "complaints:complaint_list")


@dataclass
class Measured:
    size: str
    load_seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    differences: dict[str, list[str]] = field(default_factory=dict)  # period -> differing figures
    api: dict[tuple[str, int], tuple[int, int, int]] = field(
        default_factory=dict
    )  # (list, size) -> status, rows, queries
    pages: dict[str, tuple[int, int]] = field(default_factory=dict)  # page -> status, queries


def _count(client, url: str, params: dict) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    return response, len(queries.captured_queries)


def _rows(response) -> int:
    data = response.json()
    return len(data["results"]) if isinstance(data, dict) else len(data)


def _measure(size: str) -> Measured:
    measured = Measured(size)
    started = time.monotonic()
    dataset = load(size)
    measured.load_seconds = time.monotonic() - started
    measured.rows = dataset.rows

    start, end = date.fromisoformat(dataset.first_day), date.fromisoformat(dataset.last_day)
    quarter = date(end.year - (end.month <= 3), (end.month - 4) % 12 + 1, 1)
    for label, (first, last, segment) in {
        "whole period": (start, end, None),
        f"segment {dataset.segments[0]}": (start, end, dataset.segments[0]),
        "last quarter": (quarter, end, None),
    }.items():
        measured.differences[label] = differences(
            subject_dashboard(first, last, segment=segment), reference_dashboard(first, last, segment=segment)
        )

    user = UserFactory(role=Role.QUALITY_MANAGER)
    api = APIClient()
    api.force_authenticate(user)
    for name in API_LISTS:
        for page_size in PAGE_SIZES:
            api.get(reverse(name), {"page_size": page_size})  # warm: first-use lookups are not the list's queries
            response, queries = _count(api, reverse(name), {"page_size": page_size})
            rows = _rows(response) if response.status_code == 200 else 0
            measured.api[(name, page_size)] = (response.status_code, rows, queries)
    browser = Client()
    browser.force_login(user)
    for name in PAGES:
        browser.get(reverse(name))
        response, queries = _count(browser, reverse(name), {})
        measured.pages[name] = (response.status_code, queries)
    return measured


@pytest.fixture(scope="module")
def smoke(django_db_setup, django_db_blocker) -> dict[str, Measured]:
    """Needs its tests marked django_db: pytest-django creates the test database only then."""
    results = {}
    with django_db_blocker.unblock():
        expected = settings.DATABASES["default"]["TEST"]["NAME"]
        # Never load bench data anywhere but the test database.
        assert connection.settings_dict["NAME"] == expected, connection.settings_dict["NAME"]
        for size in SIZES:
            # The bench loader switches triggers and constraints off for its bulk load, which
            # only the tables' owner may do (the suite otherwise runs as the application role).
            with transaction.atomic(), as_owner():
                results[size] = _measure(size)
                transaction.set_rollback(True)
    return results
