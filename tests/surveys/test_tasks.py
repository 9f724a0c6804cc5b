"""Survey tasks: stable names, thin and idempotent, the beat entry, the worker's connection policy."""

from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from apps.surveys import tasks
from apps.surveys.models import Wave
from qms_portal.celery import app
from tests.customers.factories import CustomerFactory
from tests.surveys.conftest import make_contact
from tests.surveys.factories import CampaignFactory


@pytest.mark.parametrize(
    ("name", "function"),
    [
        ("surveys.tick", tasks.tick_task),
        ("surveys.prepare_wave", tasks.prepare_wave_task),
        ("surveys.send_invitations", tasks.send_invitations_task),
        ("surveys.send_reminders", tasks.send_reminders_task),
    ],
)
def test_tasks_have_stable_names(name, function):
    assert function.name == name
    assert app.tasks[name].run.__name__ == function.run.__name__


def test_send_batches_are_killed_before_their_claims_could_be_taken_over():
    from apps.surveys.services.dispatch import CLAIM_LEASE

    for task in (tasks.send_invitations_task, tasks.send_reminders_task):
        assert task.time_limit < CLAIM_LEASE.total_seconds()
        assert task.soft_time_limit < task.time_limit
    assert tasks.prepare_wave_task.time_limit < settings.CELERY_BROKER_VISIBILITY_TIMEOUT


def test_beat_ticks_every_minute_and_a_late_tick_expires():
    entry = settings.CELERY_BEAT_SCHEDULE["surveys.tick"]
    assert entry["task"] == "surveys.tick"
    assert entry["schedule"] == timedelta(minutes=1)
    assert 0 < entry["options"]["expires"] < 60


@pytest.mark.django_db
def test_tick_task_claims_a_due_campaign_and_queues_its_preparation(django_capture_on_commit_callbacks):
    campaign = CampaignFactory(next_run_at=timezone.now() - timedelta(seconds=5))
    with (
        mock.patch.object(tasks.prepare_wave_task, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        summary = tasks.tick_task()
    assert summary["claimed"] == 1
    delay.assert_called_once_with(campaign.waves.get().pk)


@pytest.mark.django_db
def test_prepare_and_send_tasks_do_their_work_once(settings):
    settings.SURVEY_SEND_WINDOW = (0, 24)
    customer = CustomerFactory(segment="Enterprise")
    make_contact(customer)
    make_contact(customer)
    campaign = CampaignFactory(next_run_at=timezone.now() - timedelta(seconds=5))
    tasks.tick_task()
    wave = campaign.waves.get()
    assert tasks.prepare_wave_task(wave.pk) == 2
    assert tasks.prepare_wave_task(wave.pk) == 0
    assert tasks.send_invitations_task(wave.pk, 10) == 2
    assert tasks.send_invitations_task(wave.pk, 10) == 0
    assert tasks.send_reminders_task(wave.pk, 10) == 0
    assert len(mail.outbox) == 2
    wave.refresh_from_db()
    assert wave.status == Wave.Status.OPEN
