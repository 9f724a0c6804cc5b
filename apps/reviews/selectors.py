"""Read-side helpers of management reviews for other apps (the evidence packs)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from apps.analytics.services import local_midnight
from apps.reviews.models import ReviewReport
from apps.reviews.services import report_path


def report_documents(first_day: date, last_day: date) -> Iterator[dict]:
    """The stored PDF of every report generated in [first_day, last_day], for clause 9.3."""
    reports = (
        ReviewReport.objects.filter(
            generated_at__gte=local_midnight(first_day), generated_at__lt=local_midnight(last_day + timedelta(days=1))
        )
        .select_related("review")
        .order_by("generated_at", "pk")
    )
    for report in reports:
        yield {
            "name": f"9.3/{report.download_name}",
            "title": f"{report.review.reference} {report.review.title} (v{report.version})",
            "content": report_path(report.file_name).read_bytes(),
        }
