"""A real Celery worker consuming from the real Redis broker."""

import time
from unittest import mock

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import transaction

from apps.core import services
from apps.core import tasks as core_tasks
from apps.core.models import OutboundEmail
from apps.core.redis_client import redis_client
from apps.core.tasks import HEARTBEAT_KEY, canary_task
from qms_portal.celery import app

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    # The worker runs in a thread of this process: it shares the locmem mail outbox
    # but uses its own database connection, hence the transactional database.
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as running:
        yield running


def test_task_sent_through_redis_is_executed_and_its_result_observed(worker):
    redis_client().delete(HEARTBEAT_KEY)
    result = canary_task.delay()
    stamp = result.get(timeout=20)
    assert redis_client().get(HEARTBEAT_KEY) == stamp


def test_email_queued_in_a_transaction_is_sent_by_the_worker_after_commit(worker):
    with transaction.atomic():
        email = services.email_enqueue(
            to="kim@example.com",
            subject="Welcome",
            template="emails/account_invitation.txt",
            context={"full_name": "Kim", "link": "https://qms.example.com/set"},
            idempotency_key="welcome:kim",
        )
    for _ in range(200):
        email.refresh_from_db()
        if email.status == OutboundEmail.Status.SENT:
            break
        time.sleep(0.05)
    assert email.status == OutboundEmail.Status.SENT
    assert [m.to for m in mail.outbox] == [["kim@example.com"]]


def test_rolled_back_transaction_sends_nothing(worker):
    def failing_change():
        with transaction.atomic():
            services.email_enqueue(
                to="kim@example.com",
                subject="Never",
                template="emails/account_invitation.txt",
                context={"full_name": "Kim", "link": "x"},
            )
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        failing_change()
    canary_task.delay().get(timeout=20)  # the worker has drained the queue up to here
    assert OutboundEmail.objects.count() == 0
    assert mail.outbox == []


# Workers keep their PostgreSQL connection between tasks (apps/core/tasks.py); the survey dispatch
# worker tests prove the session count stays flat.
def test_worker_keeps_its_database_connection_between_tasks():
    assert app.conf.get("CELERY_DB_REUSE_MAX") >= 100


@pytest.mark.parametrize(("eager", "closes"), [(False, True), (True, False)])
def test_worker_drops_only_broken_or_old_connections_and_leaves_eager_runs_alone(eager, closes):
    sender = mock.Mock()
    sender.request.is_eager = eager
    with mock.patch("apps.core.tasks.close_old_connections") as close_old:
        core_tasks._recycle_old_database_connections(sender=sender)
    assert close_old.called is closes
