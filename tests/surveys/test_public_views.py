"""The customer's survey pages: /s/<token>/, its thank-you page and the opt-out page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.surveys.models import Campaign, QuestionKind, Response, SurveyOptOut, Wave
from tests.surveys.factories import CampaignFactory
from tests.surveys.test_responses import make_invitation, make_wave, questions_by_kind, submit


@pytest.fixture
def invitation(db):
    return make_invitation(make_wave())


def url(invitation_or_token, name: str = "answer") -> str:
    token = getattr(invitation_or_token, "token", invitation_or_token)
    return reverse(f"surveys_public:{name}", args=[token])


def form_data(invitation, **by_kind) -> dict:
    questions = questions_by_kind(invitation.campaign)
    aliases = {"single": QuestionKind.SINGLE_CHOICE, "multiple": QuestionKind.MULTIPLE_CHOICE}
    return {f"q{questions[aliases.get(kind, kind)].pk}": value for kind, value in by_kind.items()}


def test_url_names_resolve_to_the_public_paths():
    assert reverse("surveys_public:answer", args=["abc"]) == "/s/abc/"
    assert reverse("surveys_public:opt_out", args=["abc"]) == "/s/abc/opt-out/"
    assert reverse("surveys_public:thanks", args=["abc"]) == "/s/abc/thanks/"


def test_answer_page_renders_an_accessible_form(client, invitation):
    nps = questions_by_kind(invitation.campaign)[QuestionKind.NPS]
    nps.help_text = "Think of the last three months."
    nps.save(update_fields=["help_text"])

    response = client.get(url(invitation))

    assert response.status_code == 200
    html = response.content.decode()
    assert "csrfmiddlewaretoken" in html
    assert html.count("<fieldset") == 5  # every question but the free text is a group
    assert html.count("<legend") == 5
    # The NPS scale is a real radio group of 0..10 with both ends labelled and the help text linked.
    radios = re.findall(rf'<input type="radio" class="btn-check" name="q{nps.pk}" id="q{nps.pk}-(\d+)"', html)
    assert radios == [str(n) for n in range(11)]
    assert f'aria-describedby="q{nps.pk}-help q{nps.pk}-ends"' in html
    assert f'id="q{nps.pk}-help"' in html
    assert "0: Not at all likely" in html
    assert "10: Extremely likely" in html
    assert 'role="radiogroup" aria-required="true"' in html
    text = questions_by_kind(invitation.campaign)[QuestionKind.TEXT]
    assert f'<label class="form-label fs-6 fw-semibold" for="q{text.pk}">' in html
    assert "style=" not in html
    assert "onclick" not in html
    assert invitation.campaign.template_version.title in html


def test_valid_answers_lead_to_the_thank_you_page(client, invitation):
    data = form_data(invitation, nps="9", csat="4", multiple=["Speed", "Quality"], text="Keep it up")

    response = client.post(url(invitation), data)

    assert response.status_code == 302
    assert response["Location"] == url(invitation, "thanks")
    stored = Response.objects.get(invitation=invitation)
    assert stored.answers.get(kind=QuestionKind.MULTIPLE_CHOICE).choices == ["Speed", "Quality"]
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    assert "Thank you for your answers." in thanks.content.decode()


def test_errors_are_shown_next_to_each_question_and_nothing_is_stored(client, invitation):
    questions = questions_by_kind(invitation.campaign)
    response = client.post(url(invitation), form_data(invitation, csat="9", text="Keep this text"))

    assert response.status_code == 400
    html = response.content.decode()
    nps, csat = questions[QuestionKind.NPS].pk, questions[QuestionKind.CSAT].pk
    assert f'<div id="q{nps}-error" class="invalid-feedback d-block">Please answer this question.</div>' in html
    assert f'<div id="q{csat}-error" class="invalid-feedback d-block">Choose a number from 1 to 5.</div>' in html
    assert f'aria-describedby="q{nps}-ends q{nps}-error"' in html
    assert f'href="#q{nps}-0"' in html  # the summary links to the question
    assert "Keep this text" in html  # what they typed is kept
    assert not Response.objects.exists()


def test_honeypot_submission_is_not_accepted(client, invitation):
    data = {**form_data(invitation, nps="9", csat="5"), "website": "http://spam.example"}
    response = client.post(url(invitation), data)
    assert response.status_code == 400
    assert not Response.objects.exists()


def test_answering_is_rate_limited_per_address_and_link(client, invitation):
    # Answers refused for a missing field are the customer's to correct and do not count (#24);
    # posts caught by the honeypot do.
    from apps.surveys import public_views

    limit, _window = public_views.RATE_LIMIT
    for _ in range(limit + 1):
        assert client.post(url(invitation), {}).status_code == 400
    for _ in range(limit):
        assert client.post(url(invitation), {"website": "http://spam.example"}).status_code == 400
    assert client.post(url(invitation), {}).status_code == 429


def test_colleagues_behind_one_address_can_all_answer(client, db, monkeypatch):
    """One office address, many colleagues: each answers their own link, none is refused."""
    from apps.surveys import public_views

    monkeypatch.setattr(public_views, "RATE_LIMIT", (2, 600))
    wave = make_wave()
    for _ in range(4):
        colleague = make_invitation(wave)
        assert client.post(url(colleague), form_data(colleague, nps="9", csat="5")).status_code == 302
    assert Response.objects.count() == 4


def test_posts_to_unusable_links_are_rate_limited_per_address(client, db, monkeypatch):
    from apps.surveys import public_views

    monkeypatch.setattr(public_views, "RATE_LIMIT", (2, 600))
    statuses = [client.post(url(f"{n:064x}"), {}).status_code for n in range(3)]
    assert statuses == [404, 404, 429]


def test_the_scale_option_class_is_styled_by_a_stylesheet_the_page_loads(client, invitation):
    from pathlib import Path

    from django.conf import settings

    html = client.get(url(invitation)).content.decode()
    classes = set(re.findall(r"\b(survey-[a-z-]+)", " ".join(re.findall(r'class="([^"]*)"', html))))
    assert "survey-scale-option" in classes
    sheets = re.findall(r'<link rel="stylesheet" href="/static/([^"]+)"', html)
    css = " ".join((Path(settings.BASE_DIR) / "static" / sheet).read_text() for sheet in sheets)
    for name in classes:
        assert f".{name}" in css, name


def test_csrf_is_required(invitation):
    client = Client(enforce_csrf_checks=True)
    response = client.post(url(invitation), form_data(invitation, nps="9", csat="5"))
    assert response.status_code == 403
    assert not Response.objects.exists()


def _unusable(kind: str) -> str:
    """A token for each way a link can be unusable."""
    if kind == "unknown":
        return "0" * 64
    if kind == "expired":
        return make_invitation(make_wave(closes_at=timezone.now() - timedelta(hours=1))).token
    if kind == "closed":
        return make_invitation(make_wave(status=Wave.Status.CLOSED)).token
    if kind == "cancelled":
        return make_invitation(make_wave(CampaignFactory(status=Campaign.Status.CANCELLED))).token
    invitation = make_invitation(make_wave())
    submit(invitation)
    return invitation.token


UNUSABLE = ["unknown", "expired", "closed", "cancelled", "answered"]


@pytest.mark.parametrize("kind", UNUSABLE)
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_unusable_link_gets_the_same_neutral_404(client, db, kind, method):
    reference = client.get(url("0" * 64)).content

    response = getattr(client, method)(url(_unusable(kind)), {})

    assert response.status_code == 404
    assert response.content == reference
    assert b"This survey link cannot be used" in response.content
    assert b"Traceback" not in response.content


def _without_csrf(content: bytes) -> bytes:
    """The page without its CSRF token, which is masked afresh on every render."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def test_thank_you_page_shows_only_in_the_browser_that_just_answered(client, invitation):
    neutral = client.get(url("0" * 64)).content
    before = client.get(url(invitation, "thanks"))
    assert (before.status_code, before.content) == (404, neutral)
    unknown = client.get(url("0" * 64, "thanks"))
    assert (unknown.status_code, unknown.content) == (404, neutral)

    client.post(url(invitation), form_data(invitation, nps="9", csat="5"))

    assert client.get(url(invitation, "thanks")).status_code == 200
    # Anyone else holding the link cannot learn that it was answered.
    elsewhere = Client().get(url(invitation, "thanks"))
    assert (elsewhere.status_code, elsewhere.content) == (404, neutral)


def test_thank_you_page_of_a_link_answered_elsewhere_is_the_neutral_404(client, invitation):
    neutral = client.get(url("0" * 64, "thanks")).content
    submit(invitation)
    answered = client.get(url(invitation, "thanks"))
    assert (answered.status_code, answered.content) == (404, neutral)


def test_opt_out_asks_then_records_without_showing_the_contact(client, invitation):
    page = client.get(url(invitation, "opt_out"))
    assert page.status_code == 200
    assert b"Stop sending me surveys" in page.content
    assert not SurveyOptOut.objects.exists()

    done = client.post(url(invitation, "opt_out"))

    assert done.status_code == 200
    html = done.content.decode()
    assert "You will not receive surveys any more" in html
    contact = invitation.contact
    for secret in (contact.name, contact.email, invitation.customer.name):
        assert secret not in html
    assert SurveyOptOut.objects.get().contact == contact
    assert client.post(url(invitation, "opt_out")).status_code == 200  # idempotent
    assert SurveyOptOut.objects.count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_opt_out_answers_the_same_for_known_and_unknown_links(client, invitation, method):
    unknown = getattr(client, method)(url("0" * 64, "opt_out"))
    assert not SurveyOptOut.objects.exists()
    known = getattr(client, method)(url(invitation, "opt_out"))

    assert unknown.status_code == known.status_code == 200
    assert _without_csrf(unknown.content) == _without_csrf(known.content)
    assert SurveyOptOut.objects.count() == (1 if method == "post" else 0)


def test_opt_out_honeypot_submission_is_not_recorded(client, invitation):
    response = client.post(url(invitation, "opt_out"), {"website": "http://spam.example"})
    assert response.status_code == 400
    assert b"Stop sending me surveys" in response.content
    assert not SurveyOptOut.objects.exists()


def test_opt_out_form_carries_the_honeypot(client, invitation):
    html = client.get(url(invitation, "opt_out")).content.decode()
    assert 'class="hp-field" aria-hidden="true"' in html
    assert 'name="website"' in html
