"""Bench fixtures: one data set per session (size from BENCH_SIZE), the whole session allowed
to use the database outside transactions (the Celery worker must see committed rows), and
the results table written and printed at the end of the run."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from tests.bench import harness
from tests.bench.data import SIZES, Dataset, load

SIZE = os.environ.get("BENCH_SIZE", "S").upper()
if SIZE not in SIZES:
    raise pytest.UsageError(f"BENCH_SIZE must be one of {', '.join(SIZES)}, not {SIZE!r}")
harness.RUN.size = SIZE


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):
    """The test database, always: pytest-django creates one only for tests marked django_db,
    and the bench's tests are not (each would be wrapped in a transaction or flushed)."""
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    with django_db_blocker.unblock():
        # Not serialized: nothing here restores the database from a snapshot, and serializing
        # every table after migrating only costs time.
        config = setup_databases(verbosity=verbosity, interactive=False, aliases={"default"}, serialized_aliases=set())
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            teardown_databases(config, verbosity=verbosity)


@pytest.fixture(scope="session")
def bench_db(django_db_setup, django_db_blocker):
    from django.db import connection

    expected = settings.DATABASES["default"]["TEST"]["NAME"]
    # Never load bench data anywhere but the bench's own test database.
    if connection.settings_dict["NAME"] != expected:
        pytest.exit(f"bench: connected to {connection.settings_dict['NAME']!r}, not {expected!r}", returncode=3)
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="session")
def dataset(bench_db) -> Dataset:
    loaded = load(SIZE)
    harness.RUN.dataset = loaded.summary()
    return loaded


def pytest_terminal_summary(terminalreporter):
    folder = harness.write()
    terminalreporter.section("benchmarks")
    terminalreporter.write_line(harness.table())
    terminalreporter.write_line("")
    terminalreporter.write_line(f"Written to {folder.relative_to(harness.ROOT)}/result.json and result.md")
