"""Answering a survey (apps.surveys.services.responses): validation, one response per
invitation, closed and cancelled links, follow-up feedback for low scores, opt-out, export audit.

The helpers at the top (`make_wave`, `make_invitation`, `answers`, `submit`) are shared with the
other answering/results test modules: the dispatch engine is built separately, so waves and
invitations are created here with the ORM directly.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.feedback.models import Feedback, FeedbackChannel, Sentiment
from apps.surveys.models import (
    Answer,
    Campaign,
    Invitation,
    QuestionKind,
    Response,
    SurveyOptOut,
    Wave,
    token_hash,
)
from apps.surveys.services import responses as services
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.surveys.factories import CampaignFactory

# --- shared helpers -----------------------------------------------------------------------------


def make_wave(campaign: Campaign | None = None, *, number: int = 1, status=Wave.Status.OPEN, **kwargs) -> Wave:
    """An open wave closing in two weeks (`scheduled_for`, `closes_at` overridable)."""
    campaign = campaign or CampaignFactory(status=Campaign.Status.ACTIVE)
    now = timezone.now()
    kwargs.setdefault("scheduled_for", now - timedelta(days=30 * (10 - number)))
    kwargs.setdefault("closes_at", now + timedelta(days=14))
    return Wave.objects.create(campaign=campaign, number=number, status=status, **kwargs)


def make_invitation(wave: Wave, *, customer=None, contact=None, product=None, sent: bool = True) -> Invitation:
    """A sent invitation of `wave` for a new contact (of `customer`, default a new Enterprise customer)."""
    if contact is None:
        contact = ContactFactory(customer=customer or CustomerFactory())
    invitation = Invitation(
        wave=wave,
        campaign=wave.campaign,
        contact=contact,
        customer=contact.customer,
        product=product,
        status=Invitation.Status.SENT if sent else Invitation.Status.PENDING,
        sent_at=timezone.now() if sent else None,
    )
    invitation.save()
    return invitation


def questions_by_kind(campaign: Campaign) -> dict[str, Any]:
    return {q.kind: q for q in campaign.template_version.questions.order_by("position")}


def answers(campaign: Campaign, **by_kind: Any) -> dict[int, Any]:
    """{question id: value} from keyword arguments named like the question kinds (nps=9, text="…")."""
    questions = questions_by_kind(campaign)
    aliases = {"single": QuestionKind.SINGLE_CHOICE, "multiple": QuestionKind.MULTIPLE_CHOICE}
    return {questions[aliases.get(kind, kind)].pk: value for kind, value in by_kind.items()}


def submit(invitation: Invitation, **by_kind: Any) -> Response:
    """Answer through the service; NPS 9 and CSAT 5 unless given (both are required)."""
    by_kind.setdefault("nps", 9)
    by_kind.setdefault("csat", 5)
    return services.response_submit(token=invitation.token, answers=answers(invitation.campaign, **by_kind))


@pytest.fixture
def invitation(db) -> Invitation:
    return make_invitation(make_wave())


# --- valid answers ----------------------------------------------------------------------------


def test_stores_the_response_its_answers_and_marks_the_invitation(invitation):
    response = submit(
        invitation, nps=10, csat="4", ces=6, single="E-mail", multiple=["Speed", "Price"], text="  Great support.  "
    )

    invitation.refresh_from_db()
    assert invitation.responded_at == response.submitted_at
    assert (response.campaign, response.wave, response.customer) == (
        invitation.campaign,
        invitation.wave,
        invitation.customer,
    )
    stored = {a.kind: (a.score, a.choices) for a in response.answers.all()}
    assert stored == {
        QuestionKind.NPS: (10, []),
        QuestionKind.CSAT: (4, []),
        QuestionKind.CES: (6, []),
        QuestionKind.SINGLE_CHOICE: (None, ["E-mail"]),
        # Stored in the question's order, whatever order the browser sent.
        QuestionKind.MULTIPLE_CHOICE: (None, ["Price", "Speed"]),
    }
    assert all(a.campaign_id == invitation.campaign_id for a in response.answers.all())
    assert all(a.submitted_at == response.submitted_at for a in response.answers.all())
    text_question = questions_by_kind(invitation.campaign)[QuestionKind.TEXT]
    fresh = Response.objects.get(pk=response.pk)
    assert json.loads(fresh.comments_json) == {str(text_question.pk): "Great support."}
    assert "Great support" not in fresh.comments_ct  # encrypted at rest


def test_optional_questions_may_stay_empty(invitation):
    response = submit(invitation, ces="", single="", multiple=[], text="   ")
    assert sorted(response.answers.values_list("kind", flat=True)) == [QuestionKind.CSAT, QuestionKind.NPS]
    assert response.comments_ct == ""


def test_writes_an_audit_entry_without_the_free_text(invitation):
    response = submit(invitation, nps=8, text="My name is Jane Doe")
    entry = AuditEntry.objects.for_object(response).get()
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.actor_kind == AuditEntry.ActorKind.PUBLIC
    assert entry.changes["invitation"] == [None, invitation.pk]
    assert "Jane Doe" not in json.dumps(entry.changes)
    assert list(entry.changes["scores"][1].values()) == [8, 5]


# --- invalid answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("nps", 11, "Choose a number from 0 to 10."),
        ("nps", -1, "Choose a number from 0 to 10."),
        ("nps", "ten", "Choose a number from 0 to 10."),
        ("nps", True, "Choose a number from 0 to 10."),
        ("csat", 0, "Choose a number from 1 to 5."),
        ("csat", 6, "Choose a number from 1 to 5."),
        ("ces", 8, "Choose a number from 1 to 7."),
        ("single", "Fax", "Choose one of the answers offered."),
        ("single", ["Phone", "E-mail"], "Choose one answer."),
        ("multiple", ["Speed", "Colour"], "Choose only among the answers offered."),
        ("multiple", ["Speed", "Speed"], "Choose each answer at most once."),
        ("text", "x" * 5001, "Please keep this answer under 5000 characters."),
    ],
)
def test_refuses_an_answer_that_does_not_fit_its_question(invitation, kind, value, message):
    with pytest.raises(ValidationError) as caught:
        submit(invitation, **{kind: value})
    question = questions_by_kind(invitation.campaign)[
        {"single": QuestionKind.SINGLE_CHOICE, "multiple": QuestionKind.MULTIPLE_CHOICE}.get(kind, kind)
    ]
    assert caught.value.message_dict == {f"q{question.pk}": [message]}
    assert not Response.objects.exists()
    assert not Answer.objects.exists()
    invitation.refresh_from_db()
    assert invitation.responded_at is None


def test_reports_every_missing_required_answer_at_once(invitation):
    with pytest.raises(ValidationError) as caught:
        services.response_submit(token=invitation.token, answers=answers(invitation.campaign, ces=3))
    questions = questions_by_kind(invitation.campaign)
    assert caught.value.message_dict == {
        f"q{questions[QuestionKind.NPS].pk}": ["Please answer this question."],
        f"q{questions[QuestionKind.CSAT].pk}": ["Please answer this question."],
    }
    assert not Response.objects.exists()


def test_refuses_answers_to_questions_of_another_survey(invitation):
    other = CampaignFactory()
    foreign = answers(other, nps=5)
    with pytest.raises(ValidationError) as caught:
        services.response_submit(
            token=invitation.token, answers={**answers(invitation.campaign, nps=9, csat=5), **foreign}
        )
    assert caught.value.message_dict["__all__"] == ["Some answers do not belong to this survey."]
    assert not Response.objects.exists()


# --- links that cannot be answered ---------------------------------------------------------------


def test_second_submission_is_refused_and_the_first_kept(invitation):
    first = submit(invitation, nps=9)
    with pytest.raises(services.SurveyUnavailable):
        submit(invitation, nps=2)
    assert Response.objects.get() == first
    assert first.answers.get(kind=QuestionKind.NPS).score == 9
    assert not Feedback.objects.exists()


def test_unknown_token_is_refused(db):
    with pytest.raises(services.SurveyUnavailable):
        services.response_submit(token="not-a-token", answers={})


@pytest.mark.parametrize(
    "close",
    [
        pytest.param({"status": Wave.Status.CLOSED}, id="wave-closed"),
        pytest.param({"closes_at": timezone.now() - timedelta(minutes=1)}, id="past-closing-time"),
    ],
)
def test_closed_wave_is_refused(db, close):
    invitation = make_invitation(make_wave(**close))
    with pytest.raises(services.SurveyUnavailable):
        submit(invitation)
    assert not Response.objects.exists()


def test_cancelled_campaign_is_refused(db):
    invitation = make_invitation(make_wave(CampaignFactory(status=Campaign.Status.CANCELLED)))
    with pytest.raises(services.SurveyUnavailable):
        submit(invitation)


def test_the_token_is_looked_up_by_its_hash_only(invitation):
    assert Invitation.objects.filter(token_hash=token_hash(invitation.token)).get() == invitation
    assert services.invitation_for_token(invitation.token + "0") is None
    assert services.invitation_for_token("") is None


# --- follow-up of low scores ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "follow_up"),
    [
        ({"nps": 6, "csat": 5}, True),
        ({"nps": 0, "csat": 5}, True),
        ({"nps": 7, "csat": 2}, True),
        ({"nps": 7, "csat": 1}, True),
        ({"nps": 7, "csat": 3}, False),
        ({"nps": 10, "csat": 5}, False),
    ],
)
def test_low_scores_create_follow_up_feedback_and_others_do_not(invitation, scores, follow_up):
    response = submit(invitation, **scores)
    assert (response.follow_up_id is not None) is follow_up
    assert Feedback.objects.count() == int(follow_up)


def test_follow_up_feedback_says_which_score_on_which_campaign(invitation):
    response = submit(invitation, nps=3, csat=2, text="Private comment")
    feedback = response.follow_up
    assert feedback.channel == FeedbackChannel.SURVEY
    assert feedback.sentiment == Sentiment.NEGATIVE
    assert feedback.status == Feedback.Status.NEW
    assert (feedback.customer, feedback.contact) == (invitation.customer, invitation.contact)
    assert feedback.owner == invitation.campaign.owner
    assert feedback.call_back is True
    assert feedback.rating == 2
    assert invitation.campaign.name in feedback.text
    assert "NPS 3 of 10" in feedback.text
    assert "CSAT 2 of 5" in feedback.text
    assert "call the customer back" in feedback.text
    assert "Private comment" not in feedback.text
    assert AuditEntry.objects.for_object(feedback).get().actor_kind == AuditEntry.ActorKind.SYSTEM


@override_settings(SURVEY_FOLLOW_UP_NPS_MAX=8, SURVEY_FOLLOW_UP_CSAT_MAX=0)
def test_follow_up_thresholds_come_from_settings(db):
    wave = make_wave()
    assert submit(make_invitation(wave), nps=8, csat=1).follow_up is not None
    assert submit(make_invitation(wave), nps=9, csat=1).follow_up is None


# --- opt-out --------------------------------------------------------------------------------------


def test_opt_out_records_the_contact_once(invitation):
    services.survey_opt_out(token=invitation.token)
    services.survey_opt_out(token=invitation.token)
    opt_out = SurveyOptOut.objects.get()
    assert (opt_out.contact, opt_out.invitation) == (invitation.contact, invitation)
    assert AuditEntry.objects.for_object(opt_out).count() == 1


def test_opt_out_works_after_the_survey_closed(db):
    invitation = make_invitation(make_wave(status=Wave.Status.CLOSED))
    services.survey_opt_out(token=invitation.token)
    assert SurveyOptOut.objects.filter(contact=invitation.contact).exists()


def test_opt_out_with_unknown_token_changes_nothing_and_is_no_error(db):
    """No error, so the public page answers the same whether or not the link exists."""
    assert services.survey_opt_out(token="unknown") is None
    assert not SurveyOptOut.objects.exists()
    assert not AuditEntry.objects.exists()


# --- erasure of a respondent ------------------------------------------------------------------


def _erase(contact, actor):
    from apps.customers import services as customer_services

    return customer_services.contact_erase(contact_id=contact.pk, actor=actor, reason="Asked to be forgotten")


def test_erasing_a_contact_shreds_their_survey_free_text_and_keeps_the_scores(invitation, quality_manager):
    from apps.surveys.selectors.results import decrypted_texts

    response = submit(invitation, nps=7, csat=4, text="My manager Jane is rude")
    other = submit(make_invitation(invitation.wave), text="Someone else's words")

    _erase(invitation.contact, quality_manager)

    response.refresh_from_db()
    assert response.erased_at is not None
    assert (response.comments_ct, response.data_key) == ("", "")
    assert decrypted_texts(response) == {}
    assert {a.kind: a.score for a in response.answers.all() if a.score is not None} == {"nps": 7, "csat": 4}
    other.refresh_from_db()
    assert other.erased_at is None
    assert "Someone else's words" in json.dumps(decrypted_texts(other))
    entry = AuditEntry.objects.for_object(response).get(action=AuditEntry.Action.ERASE)
    assert "Jane" not in json.dumps(entry.changes) + entry.reason
    assert entry.actor_id == quality_manager.pk


def test_erasing_twice_erases_the_responses_once(invitation, quality_manager):
    response = submit(invitation, text="Hello")
    _erase(invitation.contact, quality_manager)
    erased_at = Response.objects.get(pk=response.pk).erased_at

    _erase(invitation.contact, quality_manager)
    assert services.responses_erase_for_contact(contact_id=invitation.contact_id, actor=quality_manager) == []

    assert Response.objects.get(pk=response.pk).erased_at == erased_at
    assert AuditEntry.objects.for_object(response).filter(action=AuditEntry.Action.ERASE).count() == 1


def test_a_contact_erased_before_answering_data_was_shredded_is_caught_up(invitation, quality_manager):
    """Erasing again runs the erasers again: responses kept readable by an earlier erasure are shredded."""
    response = submit(invitation, text="Hello")
    from apps.customers.models import Contact

    Contact.objects.filter(pk=invitation.contact_id).unaudited_update(erased_at=timezone.now())

    _erase(invitation.contact, quality_manager)

    assert Response.objects.get(pk=response.pk).erased_at is not None


def test_follow_up_text_is_in_the_portals_language_whatever_the_customer_answered_in(invitation, monkeypatch):
    from django.conf import settings
    from django.utils import translation

    languages = []
    gettext = services._

    def spy(message):
        if message.startswith(("Low score", "%(kind)s")):
            languages.append(translation.get_language())
        return gettext(message)

    monkeypatch.setattr(services, "_", spy)
    with translation.override("de"):
        submit(invitation, nps=2, csat=1)

    assert languages
    assert set(languages) == {settings.LANGUAGE_CODE}


# --- export audit ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "allowed"), [("quality_manager", True), ("staff", False), ("auditor", False)])
def test_export_is_recorded_for_those_allowed(invitation, personas, persona, allowed):
    submit(invitation)
    campaign = invitation.campaign
    if not allowed:
        with pytest.raises(PermissionDenied):
            services.responses_export(campaign_id=campaign.pk, actor=personas[persona])
        assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()
        return
    services.responses_export(campaign_id=campaign.pk, actor=personas[persona])
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert (entry.object_id, entry.actor, entry.changes) == (str(campaign.pk), personas[persona], {"responses": 1})


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_store_one_response():
    import threading

    from django.db import connection

    invitation = make_invitation(make_wave())
    payload = answers(invitation.campaign, nps=9, csat=5)
    outcomes, barrier = [], threading.Barrier(3)

    def attempt():
        try:
            barrier.wait()
            services.response_submit(token=invitation.token, answers=payload)
            outcomes.append("stored")
        except services.SurveyUnavailable:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "refused", "stored"]
    assert Response.objects.filter(invitation=invitation).count() == 1
    assert Answer.objects.count() == 2
