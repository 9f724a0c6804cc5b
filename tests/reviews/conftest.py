"""Management-review fixtures: the analytics `dataset` (hand-computed figures, Jan-Mar 2026)
and helpers that run a review's job in-process, as a worker would."""

from __future__ import annotations

from datetime import date

import pytest

from apps.reviews import services
from apps.reviews.models import ReviewJob
from tests.analytics.conftest import categories, customers, dataset, products, surveys  # noqa: F401


def make_review(qm, *, start=date(2026, 2, 1), end=date(2026, 3, 31), meeting=date(2026, 4, 6), **extra):
    return services.review_create(
        actor=qm,
        title=extra.pop("title", "Q1 review"),
        period_start=start,
        period_end=end,
        meeting_date=meeting,
        chair=extra.pop("chair", qm),
        attendees=extra.pop("attendees", "Quinn Manager\nMaria Director"),
        distribution=extra.pop("distribution", "ceo@example.com\ncoo@example.com"),
        **extra,
    )


def run_jobs(review) -> list:
    """Every queued job of `review`, done now in this process; the reports made."""
    return [
        services.job_run(job_id=job_id)
        for job_id in ReviewJob.objects.filter(review=review, status=ReviewJob.Status.QUEUED).values_list(
            "pk", flat=True
        )
    ]


def compiled(qm, review):
    services.review_request_compile(review_id=review.pk, actor=qm)
    (report,) = run_jobs(review)
    review.refresh_from_db()
    return report


@pytest.fixture(autouse=True)
def _own_media(settings, tmp_path):
    """References restart in every test database: keep each test's report files apart."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def review(quality_manager):
    return make_review(quality_manager)
