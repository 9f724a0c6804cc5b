"""A task that always fails, retried once: loaded into the real worker of tests/core/test_metrics.py
to count a run, a retry and a failure."""

from celery import shared_task


@shared_task(name="tests.metrics_flaky", autoretry_for=(RuntimeError,), max_retries=1, default_retry_delay=0)
def metrics_flaky_task() -> None:
    raise RuntimeError("fails on purpose")
