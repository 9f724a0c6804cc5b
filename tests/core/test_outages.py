"""A dependency down (#10): the portal answers 503 with a clear page or JSON and a Retry-After,
saves nothing half-way, and a record saved before the broker failed stays saved and is sent
later by the sweeper. The outages are real: connections to a port where nothing listens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.middleware import SessionMiddleware
from django.contrib.sessions.models import Session
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from apps.complaints.models import Complaint
from apps.core import services as core_services
from apps.core.models import OutboundEmail
from apps.core.sessions import SessionStore
from apps.feedback.models import Feedback
from qms_portal.celery import app as celery_app
from tests.http_browser import free_port


@pytest.fixture
def redis_down(settings):
    """The cache and the portal's own Redis client (the rate limits) on a Redis that is not there."""
    cache = dict(settings.CACHES["default"])
    cache["LOCATION"] = settings.REDIS_CLIENT_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {**settings.CACHES, "default": cache}


@pytest.fixture
def broker_down():
    """The Celery app publishing to a broker that is not there; afterwards, its own pools again
    (kombu keeps pools per broker URL, so the real broker's pool is left open and untouched)."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_write_url, celery_app._pool, celery_app.amqp._producer_pool)
    conf.broker_url = conf.broker_write_url = f"redis://127.0.0.1:{free_port()}/0"
    celery_app._pool = celery_app.amqp._producer_pool = None
    yield
    celery_app.pool.force_close_all()
    conf.broker_url, conf.broker_write_url, celery_app._pool, celery_app.amqp._producer_pool = saved


@pytest.mark.django_db
def test_a_public_form_answers_503_while_redis_is_down_and_saves_nothing(redis_down):
    response = Client(raise_request_exception=False).post(
        reverse("feedback:submit"), {"text": "Lovely pump.", "rating": "5"}
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Temporarily unavailable" in response.content.decode()
    assert "Please try again in a minute" in response.content.decode()
    assert Feedback.objects.count() == 0


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
