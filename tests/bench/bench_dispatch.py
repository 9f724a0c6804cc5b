"""G2 (issues #5 and #9): a survey wave of every surveyable contact (about 100,000 at size M)
sent through a real Celery worker against the same batches sent in-process, without Celery.

Both draw their recipients from the one prepared wave: a repeat sends `dispatch_slice` more
invitations, through `send_invitations_task` messages consumed by a `celery worker` process
(the subject) or by calling `wave_send_invitations` in a loop here (the reference), each batch
SURVEY_DISPATCH_BATCH_SIZE recipients as the tick plans them. E-mail goes to Django's dummy
backend in both. While the worker works, a sampler counts the PostgreSQL sessions on the
bench database (from another database, so it does not count itself).
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from unittest import mock

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from apps.surveys.models import AudienceKind, Campaign, Invitation, InvitationStatus
from apps.surveys.services import dispatch
from apps.surveys.tasks import send_invitations_task
from qms_portal.celery import app
from tests.bench import harness
from tests.bench.data import SIZES
from tests.bench.goals import DISPATCH_WORKERS, GOALS, session_limit

pytestmark = pytest.mark.timeout(900)

DISCARD = {"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend", "SURVEY_SEND_WINDOW": (0, 24)}
POLL = 0.05


def _sent(wave_id: int) -> int:
    return Invitation.objects.filter(wave_id=wave_id, status=InvitationStatus.SENT).count()


@pytest.fixture(scope="module")
def wave(dataset):
    """The dispatch campaign claimed and its wave prepared in-process (no tasks queued)."""
    campaign = Campaign.objects.create(
        name="Bench dispatch",
        template_version_id=Campaign.objects.get(pk=dataset.main_campaign_id).template_version_id,
        status=Campaign.Status.SCHEDULED,
        audience_kind=AudienceKind.SEGMENTS,
        audience_segments=dataset.segments,
        next_run_at=timezone.now() - timedelta(seconds=1),
        fatigue_days=0,
        send_rate_per_minute=1_000_000,
        owner_id=dataset.user_id,
        created_by_id=dataset.user_id,
    )
    with (
        override_settings(**DISCARD),
        mock.patch("apps.surveys.tasks.prepare_wave_task"),
        mock.patch.object(dispatch, "wave_plan_sends"),
    ):
        created = dispatch.campaign_claim(campaign_id=campaign.pk)
        started = time.perf_counter()
        recipients = dispatch.wave_prepare(wave_id=created.pk)
        prepare_seconds = time.perf_counter() - started
    return {"id": created.pk, "recipients": recipients, "prepare_seconds": prepare_seconds}


class Worker:
    """One `celery worker` process on the bench database, always stopped (finally + atexit)."""

    def __init__(self, log_path):
        self.name = f"bench-{os.getpid()}"
        command = [sys.executable, "-m", "celery", "-A", "qms_portal", "worker", "--pool", "prefork"]
        command += ["--concurrency", str(DISPATCH_WORKERS), "--hostname", f"{self.name}@%h", "--loglevel", "WARNING"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.bench.worker_settings",
            "TEST_DATABASE_NAME": settings.TEST_DATABASE_NAME,
            "PYTHONPATH": str(harness.ROOT),
        }
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                command, cwd=harness.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        atexit.register(self.stop)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited: {self.log_path.read_text()[-2000:]}")
            replies = app.control.ping(timeout=0.5)
            if any(name.startswith(f"{self.name}@") for reply in replies for name in reply):
                return
        raise RuntimeError(f"celery worker not ready after {timeout}s: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class SessionSampler(threading.Thread):
    """Counts sessions on the bench database every 50 ms, from the maintenance database."""

    def __init__(self):
        super().__init__(daemon=True)
        params = connection.get_connection_params()
        params.pop("database", None)
        params["dbname"] = "postgres"
        params.pop("options", None)
        self.conn = psycopg2.connect(**params)
        self.conn.autocommit = True
        self.database = connection.settings_dict["NAME"]
        self.maximum = 0
        self.samples = 0
        self.halt = threading.Event()

    def run(self) -> None:
        with self.conn.cursor() as cursor:
            while not self.halt.is_set():
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [self.database])
                self.maximum = max(self.maximum, cursor.fetchone()[0])
                self.samples += 1
                self.halt.wait(POLL)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=5)
        self.conn.close()


def _plain_template_rendering():
    """pytest-django instruments every template render of this process (a signal per render,
    for the test client); the worker renders without it, so the reference must too."""
    from django.template import Template
    from django.test.utils import _TestState

    original = getattr(getattr(_TestState, "saved_data", None), "template_render", None)
    return mock.patch.object(Template, "_render", original) if original else contextlib.nullcontext()


def _profile(function) -> None:
    """BENCH_PROFILE=1: where one in-process batch spends its time, next to the results."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(function)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(60)
    folder = harness.RESULTS_DIR / harness.RUN.started
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dispatch-profile.txt").write_text(out.getvalue())


def test_g2_dispatch_through_celery_keeps_0_6x_of_in_process_throughput_with_bounded_sessions(dataset, wave):
    size = SIZES[dataset.size]
    batch = settings.SURVEY_DISPATCH_BATCH_SIZE
    wave_id = wave["id"]
    needed = 2 * batch + 2 * max(3, GOALS["G2"].repeats) * size.dispatch_slice
    assert wave["recipients"] >= needed, f"wave of {wave['recipients']} recipients, the repeats need {needed}"

    def through_celery(recipients: int) -> float:
        target = _sent(wave_id) + recipients
        started = time.perf_counter()
        for _ in range(math.ceil(recipients / batch)):
            send_invitations_task.apply_async((wave_id, batch))
        deadline = started + 600
        while _sent(wave_id) < target:
            if worker.process.poll() is not None:
                raise RuntimeError(f"celery worker exited: {worker.log_path.read_text()[-2000:]}")
            if time.perf_counter() > deadline:
                raise TimeoutError(f"worker sent {_sent(wave_id)} of {target}")
            time.sleep(POLL)
        return recipients / (time.perf_counter() - started)

    def in_process(recipients: int) -> float:
        sent = 0
        started = time.perf_counter()
        with override_settings(**DISCARD), _plain_template_rendering():
            for _ in range(math.ceil(recipients / batch)):
                sent += dispatch.wave_send_invitations(wave_id=wave_id, limit=batch).sent
        elapsed = time.perf_counter() - started
        assert sent == recipients
        return sent / elapsed

    app.control.purge()
    worker = Worker(harness.RESULTS_DIR / harness.RUN.started / "worker.log")
    sampler = None
    try:
        worker.wait_ready()
        sampler = SessionSampler()
        sampler.start()
        through_celery(batch)  # warm-up: worker imports, templates, connection
        in_process(batch)
        outcome = harness.compare(
            "G2",
            lambda: through_celery(size.dispatch_slice),
            lambda: in_process(size.dispatch_slice),
            unit="recipients/s",
            warmup=False,
            notes=(
                f"wave of {wave['recipients']:,} recipients (prepared in {wave['prepare_seconds']:.1f} s); "
                f"{size.dispatch_slice:,} per repeat in batches of {batch}; "
                f"{DISPATCH_WORKERS} worker process(es); e-mail to the dummy backend"
            ),
        )
    finally:
        if sampler is not None:
            sampler.stop()
        worker.stop()
        app.control.purge()
    if os.environ.get("BENCH_PROFILE"):
        _profile(lambda: in_process(batch))
    limit = session_limit(DISPATCH_WORKERS)
    sessions = harness.bound(
        "G2-sessions",
        sampler.maximum,
        limit,
        notes=f"most sessions seen in {sampler.samples} samples while {DISPATCH_WORKERS} worker(s) sent",
    )
    assert sessions.verdict == "pass", harness.table()
    assert outcome.verdict != "fail", harness.table()
