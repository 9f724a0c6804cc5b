"""A dependency down (#10): the portal answers 503 with a clear page or JSON and a Retry-After,
saves nothing half-way, and a record saved before the broker failed stays saved and is sent
later by the sweeper. The public forms keep accepting while Redis is down (#27): their rate
limit counts in PostgreSQL meanwhile. The outages are real: connections to a port where nothing
listens."""

from __future__ import annotations

import contextlib
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.middleware import SessionMiddleware
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from apps.audit.models import AuditEntry
from apps.complaints.models import Complaint
from apps.core import services as core_services
from apps.core import tasks as core_tasks
from apps.core.models import OutboundEmail
from apps.core.sessions import SessionStore
from apps.feedback.models import Feedback
from qms_portal.celery import app as celery_app
from tests.complaints.factories import make_complaint
from tests.http_browser import free_port
from tests.workers import wait_for


@contextlib.contextmanager
def _broker_gone():
    """The Celery app publishing to a broker that is not there; afterwards, its own pools again
    (kombu keeps pools per broker URL, so the real broker's pool is left open and untouched)."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_write_url, celery_app._pool, celery_app.amqp._producer_pool)
    conf.broker_url = conf.broker_write_url = f"redis://127.0.0.1:{free_port()}/0"
    celery_app._pool = celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        celery_app.pool.force_close_all()
        conf.broker_url, conf.broker_write_url, celery_app._pool, celery_app.amqp._producer_pool = saved


@contextlib.contextmanager
def _redis_gone(settings):
    """The cache, the portal's own Redis client (the rate limits) and the broker on a Redis that is
    not there, as when the one Redis server of a deployment stops; afterwards, the real one again."""
    saved = (settings.CACHES, settings.REDIS_CLIENT_URL)
    cache = dict(settings.CACHES["default"])
    cache["LOCATION"] = settings.REDIS_CLIENT_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {**settings.CACHES, "default": cache}
    try:
        with _broker_gone():
            yield
    finally:
        settings.CACHES, settings.REDIS_CLIENT_URL = saved


@pytest.fixture
def redis_down(settings):
    with _redis_gone(settings):
        yield


@pytest.fixture
def broker_down():
    with _broker_gone():
        yield


FEEDBACK = {"text": "Lovely pump.", "rating": "5", "submission_key": "a" * 32}


@pytest.mark.django_db
def test_a_public_form_accepts_and_saves_once_while_redis_is_down(redis_down, django_capture_on_commit_callbacks):
    """Everything a submission is (row, audit entry, e-mail row) lives in PostgreSQL: a Redis
    outage delays the acknowledgement, it does not turn the customer away (#27)."""
    client = Client(raise_request_exception=False)
    assert client.get(reverse("feedback:submit")).status_code == 200
    data = {**FEEDBACK, "submitter_email": "kim@example.org"}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(reverse("feedback:submit"), data)
        again = client.post(reverse("feedback:submit"), data)
    assert (first.status_code, again.status_code) == (302, 302)
    feedback = Feedback.objects.get()
    assert AuditEntry.objects.filter(object_id=str(feedback.pk), action=AuditEntry.Action.CREATE).count() == 1
    assert OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).count() == 1
    thanks = client.get(first["Location"])
    assert thanks.status_code == 200
    assert feedback.reference in thanks.content.decode()


@pytest.mark.django_db
def test_the_public_start_page_needs_no_redis(redis_down):
    """`/` for an anonymous visitor (#24) leads to the public forms, which work without Redis."""
    response = Client(raise_request_exception=False).get(reverse("dashboard:home"))
    assert response.status_code == 200
    assert reverse("complaints:public_new") in response.content.decode()


@pytest.mark.django_db
def test_the_complaint_form_its_confirmation_and_the_tracking_page_need_no_redis(
    redis_down, django_capture_on_commit_callbacks
):
    client = Client(raise_request_exception=False)
    assert client.get(reverse("complaints:public_new")).status_code == 200
    data = {"complainant_name": "Pat", "complainant_email": "pat@example.org", "description": "The pump leaks."}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("complaints:public_new"), data)
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    done = client.get(response["Location"])
    assert done.status_code == 200
    assert complaint.reference in done.content.decode()
    tracked = make_complaint(complainant_email="lee@example.org")
    track = reverse("complaints:track", args=[tracked.tracking_token])
    assert client.get(track).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        added = client.post(track, {"form": "info", "body": "Photos follow by post."})
    assert added.status_code == 302


@pytest.mark.django_db
def test_the_api_answers_a_json_503_while_redis_is_down(redis_down, staff):
    client = APIClient(raise_request_exception=False)
    response = client.post("/api/v1/auth/token/", {"email": staff.email, "password": "x"}, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["error"]["code"] == "service_unavailable"


@pytest.mark.django_db
def test_a_complaint_saved_before_the_broker_failed_is_kept_and_swept_later(
    broker_down, settings, django_capture_on_commit_callbacks
):
    data = {"complainant_name": "Pat", "complainant_email": "pat@example.org", "description": "The pump leaks."}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = Client(raise_request_exception=False).post(reverse("complaints:public_new"), data)
    assert callbacks, "the acknowledgement was to be enqueued after commit"
    # The customer is told it was received, because it was: a 503 would invite a duplicate.
    assert response.status_code == 302
    assert Complaint.objects.count() == 1
    email = OutboundEmail.objects.get(status=OutboundEmail.Status.QUEUED)
    # The sweeper looks at rows, not at the queue, so it finds the message the broker never got.
    settings.OUTBOX_STALE_AFTER = timedelta(0)
    assert core_services.outbox_sweep() == [email.pk]


@pytest.fixture
def postgres_gone_after_view():
    """A view whose PostgreSQL stops right after it ran: the session is saved into the outage."""
    from django.db import connection

    saved = dict(connection.settings_dict)

    def view(request):
        request.session["seen"] = True
        connection.close()
        connection.settings_dict["PORT"] = str(free_port())
        return HttpResponse("ok")

    yield view
    connection.close()
    connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
def test_a_session_saved_while_postgresql_stops_answers_503_not_400(postgres_gone_after_view):
    request = RequestFactory().get("/")
    store = SessionStore()
    store["started"] = True
    store.save()
    request.COOKIES[settings.SESSION_COOKIE_NAME] = store.session_key
    handler = convert_exception_to_response(SessionMiddleware(postgres_gone_after_view))
    response = handler(request)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"


@pytest.mark.django_db
def test_a_session_deleted_meanwhile_is_still_a_session_interrupted():
    store = SessionStore()
    store["started"] = True
    store.save()
    Session.objects.filter(session_key=store.session_key).delete()
    store["more"] = True
    with pytest.raises(UpdateError):
        store.save()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_submission_taken_while_redis_was_down_is_acknowledged_once_by_a_real_worker(settings):
    """Accepted during the outage, the acknowledgement never reached the broker; once Redis is
    back the sweeper hands it to a real worker, which sends it once, however often it sweeps."""
    settings.OUTBOX_STALE_AFTER = timedelta(0)
    client = Client(raise_request_exception=False)
    with _redis_gone(settings):
        response = client.post(reverse("feedback:submit"), {**FEEDBACK, "submitter_email": "kim@example.org"})
    assert response.status_code == 302
    email = OutboundEmail.objects.get()
    assert email.status == OutboundEmail.Status.QUEUED
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        for _sweep in range(3):
            core_tasks.sweep_outbox_task.delay()
            wait_for(lambda: OutboundEmail.objects.filter(pk=email.pk, status=OutboundEmail.Status.SENT).exists(), 10)
        email.refresh_from_db()
        assert email.status == OutboundEmail.Status.SENT
        time.sleep(0.5)  # what a later sweep might still have queued
    assert [message.to for message in mail.outbox] == [["kim@example.org"]]


@pytest.mark.django_db
def test_a_survey_invitation_is_answered_while_redis_is_down(redis_down):
    from apps.surveys.models import QuestionKind, Response
    from tests.surveys.test_responses import make_invitation, make_wave, questions_by_kind

    invitation = make_invitation(make_wave())
    page = reverse("surveys_public:answer", args=[invitation.token])
    client = Client(raise_request_exception=False)
    assert client.get(page).status_code == 200
    nps = questions_by_kind(invitation.campaign)[QuestionKind.NPS]
    csat = questions_by_kind(invitation.campaign)[QuestionKind.CSAT]
    response = client.post(page, {f"q{nps.pk}": "9", f"q{csat.pk}": "4"})
    assert response.status_code == 302
    assert Response.objects.filter(invitation=invitation).count() == 1
    assert client.get(response["Location"]).status_code == 200
