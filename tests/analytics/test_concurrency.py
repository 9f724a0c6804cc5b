"""A change committed while refresh() runs is never lost: its marker outlives the refresh.

Real concurrency with separate PostgreSQL sessions (threads, each with its own Django
connection). refresh() is held right after it took its markers by a lock on the roll-up
table it is about to rewrite; meanwhile another session records feedback and commits.
"""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from django.db import connection, connections, transaction

from apps.analytics import selectors, services
from tests.analytics.conftest import feedback, local, markers

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(target, results: dict, key: str) -> threading.Thread:
    def run():
        try:
            results[key] = target()
        except Exception as error:
            results[key] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait_for_lock_wait(timeout: float = 10.0) -> None:
    """Until some other session waits on a lock (the refresh, blocked on the roll-up table)."""
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            # Statistics views are a snapshot per transaction, and this one is still open.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("refresh() never reached the roll-up table")


def test_a_change_committed_during_a_refresh_keeps_its_marker(quality_manager):
    feedback(quality_manager, local(2026, 1, 10), rating=5)
    results: dict = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE analytics_feedbackdaily IN ACCESS EXCLUSIVE MODE")
        refresher = _in_thread(services.refresh, results, "refresh")
        _wait_for_lock_wait()
        writer = _in_thread(lambda: feedback(quality_manager, local(2026, 2, 10), rating=1), results, "writer")
        writer.join(10)
        assert not isinstance(results.get("writer"), Exception), results.get("writer")
    refresher.join(10)
    assert not isinstance(results["refresh"], Exception), results["refresh"]

    assert markers(), "the late writer's marker was consumed by a refresh that never saw its row"
    january, february = (date(2026, 1, 1), date(2026, 2, 1)), (date(2026, 2, 1), date(2026, 3, 1))
    assert selectors.feedback_sentiment(start=january[0], end=january[1])["positive"] == 1
    assert selectors.feedback_sentiment(start=february[0], end=february[1])["negative"] == 0
    services.refresh()
    assert markers() == []
    assert selectors.feedback_sentiment(start=february[0], end=february[1])["negative"] == 1


def test_an_uncommitted_change_is_folded_in_after_it_commits(quality_manager):
    results: dict = {}
    gate = threading.Event()
    done = threading.Event()

    def slow_writer():
        with transaction.atomic():
            made = feedback(quality_manager, local(2026, 3, 5), rating=2)
            gate.set()
            done.wait(10)
        return made

    writer = _in_thread(slow_writer, results, "writer")
    assert gate.wait(10)
    first = services.refresh()  # the writer has not committed: nothing to see, nothing to lose
    assert first.markers == 0
    done.set()
    writer.join(10)
    assert not isinstance(results["writer"], Exception), results["writer"]
    services.refresh()
    assert selectors.feedback_sentiment(start=date(2026, 3, 1), end=date(2026, 4, 1))["negative"] == 1


def test_concurrent_refreshes_take_turns(quality_manager):
    for day in range(1, 11):
        feedback(quality_manager, local(2026, 4, day), rating=4)
    results: dict = {}
    threads = [_in_thread(lambda: services.refresh(batch=3), results, f"r{i}") for i in range(4)]
    for thread in threads:
        thread.join(20)
    consumed = [results[f"r{i}"] for i in range(4)]
    assert not any(isinstance(r, Exception) for r in consumed), consumed
    while services.refresh().markers:
        pass
    assert selectors.feedback_sentiment(start=date(2026, 4, 1), end=date(2026, 5, 1))["positive"] == 10
