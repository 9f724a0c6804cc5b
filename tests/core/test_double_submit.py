"""The same public form sent more than once (#10): a double click, a browser resending after a
timeout, five parallel sends of one form. Each is one record, one audit entry, one e-mail."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.complaints.models import Complaint
from apps.core.models import OutboundEmail
from apps.feedback.models import Feedback

FORMS = {
    "complaint": (
        "complaints:public_new",
        Complaint,
        {"complainant_name": "Pat", "complainant_email": "pat@example.org", "description": "The pump leaks."},
    ),
    "feedback": (
        "feedback:submit",
        Feedback,
        {"text": "Lovely pump.", "rating": "5", "submitter_email": "pat@example.org"},
    ),
}


def _key_from_the_page(url: str) -> str:
    html = Client().get(url).content.decode()
    match = re.search(r'name="submission_key" value="([0-9a-f]{32})"', html)
    assert match, "the form carries no submission key"
    return match.group(1)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(FORMS))
def test_a_form_sent_twice_is_one_record_and_each_showing_is_a_new_key(kind):
    route, model, data = FORMS[kind]
    url = reverse(route)
    key = _key_from_the_page(url)
    assert _key_from_the_page(url) != key
    browser = Client()
    first = browser.post(url, {**data, "submission_key": key})
    again = browser.post(url, {**data, "submission_key": key})
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert model.objects.count() == 1
    # A form shown again is a new submission, however alike its content.
    browser.post(url, {**data, "submission_key": _key_from_the_page(url)})
    assert model.objects.count() == 2


@pytest.mark.django_db
def test_a_key_we_could_not_have_drawn_is_ignored_not_shared():
    route, model, data = FORMS["feedback"]
    for _ in range(2):
        assert Client().post(reverse(route), {**data, "submission_key": "'; DROP TABLE x; --"}).status_code == 302
    assert model.objects.count() == 2
    assert list(model.objects.values_list("submission_key", flat=True)) == [None, None]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", sorted(FORMS))
def test_five_parallel_sends_of_one_form_make_exactly_one_record(kind):
    route, model, data = FORMS[kind]
    url = reverse(route)
    key = _key_from_the_page(url)
    start = threading.Barrier(5)
    statuses: list[int] = []

    def send() -> None:
        try:
            start.wait()
            statuses.append(Client().post(url, {**data, "submission_key": key}).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [302] * 5
    record = model.objects.get()
    assert AuditEntry.objects.for_object(record).filter(action=AuditEntry.Action.CREATE).count() == 1
    assert OutboundEmail.objects.count() == 1
