"""No cache keeps a copy of what a signed-in person or a private link saw (#22 §9): every
answer to a signed-in user (pages, API, PDF and attachment downloads) and every private link
page says `Cache-Control: private, no-store`; static files and the public forms stay cacheable."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.security.access import api_operations, make_personal
from tests.security.routes import page_patterns
from tests.security.world import api_url, page_kwargs

SIGNED_IN = ["auditor", "staff", "quality_manager"]
# Files the sweep must have downloaded (an evidence pack only by the auditor who asked for it).
DOWNLOADS = {
    "auditor": {"reviews:report_download", "evidence:pack_download"},
    "staff": {"complaints:attachment"},
    "quality_manager": {"reviews:report_download", "complaints:attachment"},
}


def _not_stored(response) -> bool:
    """`no-store` is what keeps a copy out of every cache; a view may have said it alone already."""
    return "no-store" in {part.strip() for part in response.get("Cache-Control", "").split(",")}


def _private_no_store(response) -> bool:
    return response.get("Cache-Control") == "private, no-store"


def _read(response):
    if response.streaming:  # reading a download to the end closes its file
        b"".join(response.streaming_content)
    return response


@pytest.mark.django_db
@pytest.mark.parametrize("persona", SIGNED_IN)
def test_every_page_a_signed_in_user_gets_is_not_stored(world, personas, persona):
    tokens = make_personal(world, personas)
    client = Client(raise_request_exception=False)
    client.force_login(personas[persona])
    stored, downloaded = [], set()
    for name, pattern in page_patterns():
        if name == "accounts:logout":
            continue  # GET is refused anyway; POST would end the session the sweep runs in
        url = reverse(name, kwargs=page_kwargs(name, pattern, world, tokens=tokens))
        response = _read(client.get(url))
        if not _not_stored(response):
            stored.append(f"{name} {response.status_code}: {response.get('Cache-Control')!r}")
        if response.status_code == 200 and response.has_header("Content-Disposition"):
            downloaded.add(name)
    assert not stored, "\n".join(stored)
    assert downloaded >= DOWNLOADS[persona]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", SIGNED_IN)
def test_every_api_answer_to_a_signed_in_user_is_not_stored(world, personas, persona):
    make_personal(world, personas)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(personas[persona])
    stored = []
    for method, path in api_operations():
        if method != "GET":
            continue
        response = _read(client.get(api_url(path, world)))
        if not _not_stored(response):
            stored.append(f"{path} {response.status_code}: {response.get('Cache-Control')!r}")
    assert not stored, "\n".join(stored)


@pytest.mark.django_db
def test_an_api_token_answer_is_not_stored(world, personas):
    from apps.accounts.services import api_token_issue

    user = personas["quality_manager"]
    secret = api_token_issue(user=user, actor=user).secret
    response = Client().get("/api/v1/me/", headers={"authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert _private_no_store(response)
    pdf = _read(
        Client().get(
            f"/api/v1/reviews/{world['review'].pk}/reports/1/pdf/", headers={"authorization": f"Bearer {secret}"}
        )
    )
    assert pdf.status_code == 200
    assert _private_no_store(pdf)


@pytest.mark.django_db
def test_the_complaint_tracking_page_is_not_stored(world, personas):
    tokens = make_personal(world, personas)
    response = Client().get(reverse("complaints:track", kwargs={"token": tokens["complaints:track"]}))
    assert response.status_code == 200
    assert _private_no_store(response)
    answer = Client().get(reverse("surveys_public:answer", kwargs={"token": tokens["surveys_public:answer"]}))
    assert answer.status_code == 200
    assert _private_no_store(answer)


@pytest.mark.django_db
def test_public_pages_and_static_files_keep_their_caching(client):
    for url in (reverse("feedback:submit"), reverse("complaints:public_new"), "/static/css/app.css"):
        response = _read(client.get(url))
        assert response.status_code == 200, url
        assert "no-store" not in response.get("Cache-Control", ""), url


@pytest.mark.django_db
def test_a_response_that_already_refuses_storing_keeps_its_own_header(world, personas):
    make_personal(world, personas)
    client = Client()
    client.force_login(personas["quality_manager"])
    response = client.get(reverse("customers:contact_export", kwargs={"pk": world["contact"].pk}))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
