"""Secrets and personal data never reach the logs, Celery's task messages or Redis (DESIGN.md).

Recognisable fake values are planted through the ways they enter the portal (public forms,
the API, staff pages, a failed sign-in) while every log record is captured and the task
messages stay in the real Redis queue; then logs, messages and every Redis key are searched.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging

import pytest
from django.conf import settings
from django.core.cache import cache
from redis import Redis
from rest_framework.test import APIClient

from qms_portal.celery import app

CANARY = {
    "name": "Zebulon Canaryfield",
    "email": "zebulon.canary@leak-test.example",
    "phone": "+49 30 5550199",
    "complaint": "CANARY-COMPLAINT-7d1f: my neighbour's pump leaks",
    "feedback": "CANARY-FEEDBACK-2b9c: the invoice was wrong",
    "message": "CANARY-MESSAGE-91ee: we will replace it",
    "password": "CANARY-PASSWORD-c0ffee",
}


@pytest.fixture
def captured(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def queue():
    """The test run's Celery queue in the real Redis, emptied before and after."""
    name = settings.CELERY_TASK_DEFAULT_QUEUE
    with app.connection() as broker:
        client = broker.default_channel.client
        client.delete(name)
        yield client, name
        client.delete(name)


def _plant(clients, quality_manager, staff, django_capture_on_commit_callbacks):
    from apps.complaints.models import Complaint
    from apps.customers.models import Contact
    from apps.feedback.models import Feedback
    from tests.customers.factories import CustomerFactory

    customer = CustomerFactory()

    with django_capture_on_commit_callbacks(execute=True):
        clients["anonymous"].post(
            "/complaints/new/",
            {
                "complainant_name": CANARY["name"],
                "complainant_email": CANARY["email"],
                "description": CANARY["complaint"],
                "desired_outcome": "",
                "website": "",
            },
        )
        clients["anonymous"].post(
            "/feedback/",
            {
                "text": CANARY["feedback"],
                "rating": "2",
                "submitter_name": CANARY["name"],
                "submitter_email": CANARY["email"],
                "website": "",
            },
        )
        complaint = Complaint.objects.get()
        clients["quality_manager"].post(
            f"/complaints/{complaint.pk}/messages/", {"body": CANARY["message"], "visibility": "customer"}
        )
        api = APIClient()
        api.force_authenticate(quality_manager)
        api.post(
            "/api/v1/contacts/",
            {"customer": customer.pk, "name": CANARY["name"], "email": CANARY["email"], "phone": CANARY["phone"]},
            format="json",
        )
        clients["anonymous"].post("/accounts/login/", {"username": staff.email, "password": CANARY["password"]})
    # Every planted value did go in, so finding none of them later means something.
    assert complaint.description == CANARY["complaint"]
    assert complaint.messages.get().body == CANARY["message"]
    assert Feedback.objects.get().text == CANARY["feedback"]
    assert Contact.objects.get(customer=customer).phone == CANARY["phone"]
    return complaint


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _found_in(text: str) -> list[str]:
    return [key for key, value in CANARY.items() if value.lower() in text.lower()]


def test_planted_personal_data_and_passwords_appear_in_no_log_record(
    clients, quality_manager, staff, captured, queue, django_capture_on_commit_callbacks
):
    _plant(clients, quality_manager, staff, django_capture_on_commit_callbacks)
    leaks = []
    for record in captured.records:
        text = " ".join([record.getMessage(), json.dumps(record.__dict__, default=str)])
        if found := _found_in(text):
            leaks.append(f"{record.name}: {found}")
    assert leaks == []


def test_task_messages_carry_ids_only(clients, quality_manager, staff, queue, django_capture_on_commit_callbacks):
    client, name = queue
    _plant(clients, quality_manager, staff, django_capture_on_commit_callbacks)
    messages = [json.loads(raw) for raw in client.lrange(name, 0, -1)]
    assert messages, "the planted submissions queue e-mails and jobs"
    for message in messages:
        body = base64.b64decode(message["body"]).decode()
        assert _found_in(body + json.dumps(message["headers"])) == [], message["headers"]["task"]
        args, kwargs, _embed = json.loads(body)
        assert all(isinstance(arg, int | str) and not str(arg).count("@") for arg in args), args
        assert all(isinstance(value, int | str | bool | None) for value in kwargs.values()), kwargs


def test_nothing_planted_is_kept_in_redis(clients, quality_manager, staff, queue, django_capture_on_commit_callbacks):
    _plant(clients, quality_manager, staff, django_capture_on_commit_callbacks)
    cache.set("probe", "written")  # the cache is this run's Redis database too
    # Raw bytes: cached values are pickles, which a decoding client cannot read.
    redis = Redis.from_url(settings.REDIS_CLIENT_URL)
    leaks = []
    for key in redis.scan_iter(count=1000):
        kind = _text(redis.type(key))
        if kind == "string":
            values = [redis.get(key) or ""]
        elif kind == "list":
            values = redis.lrange(key, 0, -1)
        elif kind == "hash":
            values = [*redis.hkeys(key), *redis.hvals(key)]
        elif kind == "set":
            values = list(redis.smembers(key))
        elif kind == "zset":
            values = redis.zrange(key, 0, -1)
        else:
            values = []
        texts = [_text(key), *(_text(value) for value in values)]
        for value in values:  # task messages carry their arguments base64-encoded
            with contextlib.suppress(ValueError, KeyError, TypeError):
                texts.append(base64.b64decode(json.loads(value)["body"]).decode(errors="replace"))
        if found := _found_in(" ".join(texts)):
            leaks.append(f"{key!r}: {found}")
    assert leaks == []
