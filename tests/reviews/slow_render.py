"""Loaded by the settings of a worker that a test kills (tests/reviews/test_worker.py): no
Django imports at the top, because settings are still loading when this is imported."""

import os
import time
from pathlib import Path


def install_slow_render(**kwargs) -> None:
    """Before each task: make rendering note that it began, then hang, so the test can kill
    the worker in the middle of a report (only where REVIEW_TEST_PROGRESS is set)."""
    if "REVIEW_TEST_PROGRESS" not in os.environ:
        return
    from apps.reviews import report

    def slow(html):
        Path(os.environ["REVIEW_TEST_PROGRESS"]).write_text("rendering")
        time.sleep(120)

    report.render_document = slow
