"""Dispatch through real Celery workers: schedule to e-mail, a worker killed mid-batch, database sessions."""

import os
import re
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from celery.fixups.django import DjangoFixup
from celery.signals import task_prerun
from django.core import mail
from django.core.mail.backends import filebased
from django.db import connection
from django.utils import timezone

from apps.surveys.models import Delivery, Invitation, Wave
from apps.surveys.services.dispatch import CLAIM_LEASE
from apps.surveys.tasks import tick_task
from qms_portal.celery import app
from tests.customers.factories import CustomerFactory
from tests.surveys.conftest import make_contact
from tests.surveys.factories import CampaignFactory
from tests.workers import celery_workers, redeliver_unacknowledged, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


class SlowFileBackend(filebased.EmailBackend):
    """Writes each message to a file after a pause, and counts the messages it has started,
    so a test can kill the worker while a message is on its way (SURVEY_TEST_PROGRESS)."""

    def send_messages(self, email_messages):
        progress = Path(os.environ["SURVEY_TEST_PROGRESS"])
        started = int(progress.read_text() or 0) if progress.exists() else 0
        progress.write_text(str(started + len(email_messages)))
        time.sleep(float(os.environ.get("SURVEY_TEST_MAIL_DELAY", "0.4")))
        return super().send_messages(email_messages)


def _due_campaign_for(contacts: int, **kwargs):
    customer = CustomerFactory(segment="Enterprise")
    for _ in range(contacts):
        make_contact(customer)
    return CampaignFactory(next_run_at=timezone.now() - timedelta(seconds=1), **kwargs)


def _sent(campaign) -> int:
    return Delivery.objects.filter(invitation__campaign=campaign, outcome="sent", sequence=0).count()


@pytest.fixture
def worker():
    # In a thread of this process: shares settings and the locmem outbox, has its own connection.
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as running:
        yield running


def test_a_due_campaign_is_picked_up_by_the_tick_and_its_invitations_are_e_mailed(worker, open_window):
    campaign = _due_campaign_for(4)
    tick_task.delay()
    assert wait_for(lambda: Wave.objects.filter(campaign=campaign, status=Wave.Status.OPEN).exists())
    invitations = list(Invitation.objects.filter(campaign=campaign).select_related("contact"))
    assert len(invitations) == 4
    assert len(mail.outbox) == 4
    for invitation in invitations:
        (message,) = [m for m in mail.outbox if m.to == [invitation.contact.email]]
        assert f"/s/{invitation.token}/" in message.body
        assert invitation.status == Invitation.Status.SENT
    campaign.refresh_from_db()
    assert campaign.status == campaign.Status.ACTIVE
    assert _sent(campaign) == 4


def test_from_schedule_to_answer_nps_and_response_rate_come_out_right(worker, open_window, client):
    from apps.surveys.models import QuestionKind
    from apps.surveys.selectors.results import ResultFilters, response_rate, scores

    campaign = _due_campaign_for(4)
    tick_task.delay()
    assert wait_for(lambda: Wave.objects.filter(campaign=campaign, status=Wave.Status.OPEN).exists())
    questions = {q.kind: q for q in campaign.template_version.questions.all()}
    links = [re.search(r"/s/[\w-]+/", message.body).group(0) for message in mail.outbox]
    assert len(links) == 4
    # Three of the four customers answer through the public page: a promoter, a passive, a detractor.
    for link, nps in zip(links[:3], [10, 8, 3], strict=True):
        answer = {f"q{questions[QuestionKind.NPS].pk}": str(nps), f"q{questions[QuestionKind.CSAT].pk}": "4"}
        response = client.post(link, answer)
        assert response.status_code == 302, response.content.decode()[:500]

    figures = scores(ResultFilters(campaign_id=campaign.pk))
    assert (figures.nps.promoters, figures.nps.passives, figures.nps.detractors) == (1, 1, 1)
    assert figures.nps.score == 0
    rate = response_rate(ResultFilters(campaign_id=campaign.pk))
    assert (rate.sent, rate.responded) == (4, 3)


def _backend_pids_of_batches(settings, contacts: int) -> list[int]:
    settings.SURVEY_DISPATCH_BATCH_SIZE = 2
    pids: list[int] = []

    def record_pid(sender=None, **kwargs):
        # Runs in the worker thread after Celery's own prerun handler, on the connection the task will use.
        if sender is not None and sender.name == "surveys.send_invitations":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids.append(cursor.fetchone()[0])

    task_prerun.connect(record_pid, weak=False)
    try:
        campaign = _due_campaign_for(contacts, send_rate_per_minute=6000)
        tick_task.delay()
        assert wait_for(lambda: Wave.objects.filter(campaign=campaign, status=Wave.Status.OPEN).exists())
        assert _sent(campaign) == contacts
    finally:
        task_prerun.disconnect(record_pid)
    return pids


def _sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_many_batches_share_one_postgresql_session(worker, open_window, settings):
    before = _sessions()
    pids = _backend_pids_of_batches(settings, contacts=30)
    assert len(pids) >= 15
    assert len(set(pids)) == 1
    assert _sessions() <= before + 1  # the worker's one connection, however many batches ran


def test_without_the_reuse_setting_each_batch_would_open_a_new_session(worker, open_window, settings, monkeypatch):
    # The pitfall the setting avoids, shown by the same measurement (so the test above can fail).
    fixup = next(f for f in app._fixups if isinstance(f, DjangoFixup))
    monkeypatch.setattr(fixup.worker_fixup, "db_reuse_max", None)
    pids = _backend_pids_of_batches(settings, contacts=10)
    assert len(set(pids)) == len(pids) >= 5


# A worker killed in the middle of a batch -------------------------------------------------


@pytest.fixture
def subprocess_workers(tmp_path):
    """Start real `celery worker` processes on this test database, with the slow file backend."""
    settings_lines = [
        "EMAIL_BACKEND = 'tests.surveys.test_worker.SlowFileBackend'",
        f"EMAIL_FILE_PATH = {str(tmp_path / 'mails')!r}",
        "SURVEY_SEND_WINDOW = (0, 24)",
        "SURVEY_DISPATCH_BATCH_SIZE = 50",
    ]
    with celery_workers(tmp_path, settings_lines, {"SURVEY_TEST_PROGRESS": str(tmp_path / "progress")}) as start:
        yield start


def _messages_in_files(folder: Path) -> list[str]:
    text = "".join(path.read_text() for path in folder.glob("*.log")) if folder.exists() else ""
    return re.findall(r"^Message-ID: <(survey-\d+-\d+)@", text, flags=re.MULTILINE)


def test_a_worker_killed_mid_batch_and_restarted_sends_every_invitation_exactly_once(
    subprocess_workers, tmp_path, open_window
):
    contacts = 10
    campaign = _due_campaign_for(contacts)
    first = subprocess_workers("first")
    tick_task.delay()
    progress = tmp_path / "progress"
    # Three messages written, the fourth on its way: kill the worker without warning.
    assert wait_for(lambda: progress.exists() and progress.read_text() == "4", timeout=90), (
        tmp_path / "first.log"
    ).read_text()[-3000:]
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=20)

    assert _sent(campaign) == 3
    claimed = Invitation.objects.filter(campaign=campaign, status=Invitation.Status.SENDING)
    assert claimed.count() == contacts - 3  # claimed by the dead worker: not sent, not lost
    # Time passes: the dead worker's lease runs out.
    claimed.update(claimed_at=timezone.now() - CLAIM_LEASE - timedelta(minutes=1))

    # The broker hands the dead worker's unacknowledged batch out again (Redis does this after
    # the visibility timeout); with the tick beat sends every minute, two jobs now compete.
    wave = Wave.objects.get(campaign=campaign)
    assert redeliver_unacknowledged("surveys.send_invitations", wave.pk) == 1
    subprocess_workers("second")
    tick_task.delay()
    assert wait_for(lambda: Wave.objects.filter(campaign=campaign, status=Wave.Status.OPEN).exists(), timeout=90), (
        tmp_path / "second.log"
    ).read_text()[-3000:]

    assert _sent(campaign) == contacts
    assert Invitation.objects.filter(campaign=campaign, status=Invitation.Status.SENT).count() == contacts
    written = _messages_in_files(tmp_path / "mails")
    expected = {f"survey-{pk}-0" for pk in Invitation.objects.filter(campaign=campaign).values_list("pk", flat=True)}
    assert sorted(written) == sorted(expected)  # each invitation's e-mail exactly once
