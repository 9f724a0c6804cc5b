"""Scheduled reviews through real Celery workers: beat firing twice, a duplicated task, and a
worker killed in the middle of rendering the PDF. Each time: one review, one report, one file."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.utils import timezone

from apps.core.models import OutboundEmail
from apps.reviews import services
from apps.reviews.models import ManagementReview, ReviewJob, ReviewReport, ReviewSnapshot, add_months
from apps.reviews.tasks import run_job_task, sweep_jobs_task, tick_task
from qms_portal.celery import app
from tests.reviews.conftest import make_review
from tests.workers import celery_workers, redeliver_unacknowledged, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _done(job_id: int) -> bool:
    return ReviewJob.objects.filter(pk=job_id, status=ReviewJob.Status.DONE).exists()


def _files(review) -> list[str]:
    folder = services.report_path(f"reviews/{review.reference}")
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def worker():
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as running:
        yield running


def test_beat_firing_twice_and_a_repeated_task_make_one_review_and_one_report(worker, quality_manager):
    today = timezone.localdate()
    last_quarter = add_months(today.replace(day=1), -((today.month - 1) % 3) - 3)
    schedule = services.schedule_save(
        actor=quality_manager,
        name="Quarterly",
        interval=3,
        chair=quality_manager,
        distribution="board@example.com",
        next_period_start=last_quarter,
    )
    assert schedule.next_run_at < timezone.now()
    tick_task.delay()
    tick_task.delay()  # a second beat by mistake
    job = wait_for(lambda: ReviewJob.objects.filter(review__schedule=schedule).first())
    assert wait_for(lambda: _done(job.pk), timeout=90)
    assert run_job_task.delay(job.pk).get(timeout=30) is None  # the job again: nothing to do
    review = ManagementReview.objects.get()
    end = add_months(last_quarter, 3) - timedelta(days=1)
    assert (review.period_start, review.period_end, review.status) == (last_quarter, end, "compiled")
    assert ReviewReport.objects.count() == 1
    assert _files(review) == [f"{review.reference}-v1.pdf"]
    (email,) = OutboundEmail.objects.all()
    # The worker may have sent it already, and a sent e-mail keeps no recipient: read what left.
    assert wait_for(lambda: OutboundEmail.objects.filter(pk=email.pk, status="sent").exists())
    assert [message.to for message in mail.outbox] == [["board@example.com"]]
    schedule.refresh_from_db()
    assert schedule.next_period_start == end + timedelta(days=1)
    assert schedule.next_run_at > timezone.now()  # the current quarter is not over yet


def test_a_worker_killed_mid_report_leaves_nothing_and_the_rerun_makes_exactly_one(settings, tmp_path, quality_manager):
    progress = tmp_path / "progress"
    settings_lines = [
        f"MEDIA_ROOT = {settings.MEDIA_ROOT!r}",
        "from celery.signals import task_prerun",
        "from tests.reviews.slow_render import install_slow_render",
        "task_prerun.connect(install_slow_render, weak=False)",
    ]
    with celery_workers(tmp_path, settings_lines, {}) as start:
        first = start("first", REVIEW_TEST_PROGRESS=str(progress))
        review = make_review(quality_manager)
        job = services.review_request_compile(review_id=review.pk, actor=quality_manager)  # sent on commit
        assert wait_for(progress.exists, timeout=90), (tmp_path / "first.log").read_text()[-3000:]
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=20)

        job.refresh_from_db()
        assert (job.status, job.attempts) == (ReviewJob.Status.RUNNING, 1)
        assert ReviewSnapshot.objects.count() == 0  # its transaction died with it
        assert ReviewReport.objects.count() == 0
        assert _files(review) == []
        assert sweep_jobs_task.apply().get() == []  # the claim is fresh: nobody steals it yet

        # Time passes: the claim goes stale; the sweeper re-sends the job, and the broker also
        # hands out the dead worker's unacknowledged message again. Two deliveries compete.
        ReviewJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
        start("second")
        assert redeliver_unacknowledged("reviews.run_job", job.pk) == 1
        sweep_jobs_task.delay()
        assert wait_for(lambda: _done(job.pk), timeout=90), (tmp_path / "second.log").read_text()[-3000:]
        time.sleep(1)  # let the second delivery finish too

    job.refresh_from_db()
    assert job.attempts == 2
    report = ReviewReport.objects.get()
    assert (report.version, report.snapshot.number) == (1, 1)
    assert ReviewSnapshot.objects.count() == 1
    assert _files(review) == [f"{review.reference}-v1.pdf"]
