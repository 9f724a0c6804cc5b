"""Two beats by mistake (#10): each scheduled job is still sent once per period."""

from __future__ import annotations

import logging
import math
import time
import uuid
from datetime import timedelta

import pytest
from celery.beat import ScheduleEntry
from celery.schedules import crontab, schedule

from apps.core import beat
from qms_portal.celery import app
from tests import beat_probe
from tests.http_browser import free_port
from tests.workers import celery_workers, wait_for


def _entry(every, name: str | None = None) -> ScheduleEntry:
    return ScheduleEntry(name=name or f"test-{uuid.uuid4().hex}", task="core.canary", schedule=every, app=app)


class RecordingScheduler(beat.OncePerPeriodScheduler):
    """Records what it would send instead of publishing it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent = []

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        self.sent.append(entry.name)


def test_an_interval_entry_is_claimed_per_interval_and_a_crontab_entry_per_minute():
    assert beat.slot_seconds(_entry(schedule(timedelta(minutes=5)))) == 300
    assert beat.slot_seconds(_entry(schedule(timedelta(milliseconds=200)))) == 1
    assert beat.slot_seconds(_entry(crontab(hour=2, minute=30))) == 60


def test_the_first_claim_of_a_period_wins_and_the_next_period_is_free_again():
    entry = _entry(schedule(timedelta(seconds=10)))
    start = 1_800_000_000.0  # a slot boundary
    assert beat.claim_slot(entry, now=start) is True
    assert beat.claim_slot(entry, now=start + 9.9) is False  # a second beat, same period
    assert beat.claim_slot(entry, now=start + 10) is True
    other = _entry(schedule(timedelta(seconds=10)))
    assert beat.claim_slot(other, now=start) is True  # periods are claimed per entry


def test_a_second_scheduler_firing_the_same_entry_in_the_period_sends_nothing():
    name = f"test-{uuid.uuid4().hex}"
    first, second = (RecordingScheduler(app, lazy=True) for _ in range(2))
    first.apply_entry(_entry(schedule(timedelta(hours=1)), name))
    second.apply_entry(_entry(schedule(timedelta(hours=1)), name))
    assert (first.sent, second.sent) == ([name], [])


def test_with_redis_unreachable_a_beat_logs_and_sends_nothing(settings, caplog):
    settings.REDIS_CLIENT_URL = f"redis://127.0.0.1:{free_port()}/0"
    scheduler = RecordingScheduler(app, lazy=True)
    with caplog.at_level(logging.WARNING, logger="apps.core.beat"):
        scheduler.apply_entry(_entry(schedule(timedelta(minutes=1))))
    assert scheduler.sent == []
    assert "beat could not claim a period" in caplog.text


def test_the_portal_runs_this_scheduler():
    assert app.conf.beat_scheduler == "apps.core.beat.OncePerPeriodScheduler"


PERIODS = {"core.canary": 1, "analytics.refresh_rollups": 2, "core.sweep_outbox": 3}
RUN_SECONDS = 12


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_beat_processes_run_each_job_once_per_period(tmp_path):
    probe = tmp_path / "runs"
    schedule_lines = ", ".join(
        f"{name!r}: {{'task': {name!r}, 'schedule': timedelta(seconds={seconds})}}" for name, seconds in PERIODS.items()
    )
    settings_lines = [
        "from datetime import timedelta",
        f"CELERY_BEAT_SCHEDULE = {{{schedule_lines}}}",
        "from tests import beat_probe",
        "beat_probe.install()",
    ]
    with celery_workers(tmp_path, settings_lines, {"BEAT_PROBE_FILE": str(probe)}) as start:
        start("worker")
        assert wait_for(lambda: "ready" in (tmp_path / "worker.log").read_text(), timeout=60)
        beats = [start("beat-one", beat=True), start("beat-two", beat=True)]
        # Both beats are up once each has fired (or been refused) its first entries.
        logs = [tmp_path / "beat-one.log", tmp_path / "beat-two.log"]
        assert wait_for(lambda: all("core.canary" in log.read_text() for log in logs), timeout=60)
        started = time.time()
        time.sleep(RUN_SECONDS)
        stopped = time.time()
        for process in beats:
            process.terminate()
            process.wait(timeout=20)
        time.sleep(2)  # the worker finishes what was sent last

    span = stopped - started
    for name, seconds in PERIODS.items():
        runs = [moment for moment in beat_probe.runs(probe).get(name, []) if started <= moment <= stopped]
        # At most one run per period slot, as from one beat: the window touches at most
        # ceil(span / period) + 1 slots, and the two beats' phases may put runs of
        # neighbouring slots close together. Both beats sending would make about twice as many.
        assert span / seconds - 1 <= len(runs) <= math.ceil(span / seconds) + 1, (name, span, runs)
    assert any("already claimed by another beat" in log.read_text() for log in logs)
