"""Answers from the public survey pages, opt-outs, the follow-up of low scores, and the
recorded export of a campaign's responses.

One response per invitation, and a second submission is refused politely rather than
editing the first: a response may already have created follow-up feedback and been read
by staff, and the results of a closed wave must not move afterwards. The refusal is the
same neutral `SurveyUnavailable` as for an unknown, expired or cancelled link, so the
public page never tells whether a token ever existed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.feedback import services as feedback_services
from apps.feedback.models import Feedback, FeedbackChannel, Sentiment
from apps.surveys.models import (
    CHOICE_KINDS,
    EXPORT_PERMISSION,
    SCALES,
    Answer,
    Campaign,
    CampaignStatus,
    Invitation,
    Question,
    QuestionKind,
    Response,
    SurveyOptOut,
    WaveStatus,
    token_hash,
)
from apps.surveys.services.permissions import require_perm

TEXT_MAX_LENGTH = 5000


class SurveyUnavailable(Exception):
    """The link cannot be answered: unknown token, closed or expired wave, cancelled campaign,
    or already answered. Deliberately one exception, so callers cannot tell the cases apart."""


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link token belongs to, with what the pages show; None when unknown."""
    if not token or len(token) > 128:
        return None
    return (
        Invitation.objects.select_related("wave", "campaign__template_version", "contact")
        .filter(token_hash=token_hash(token))
        .first()
    )


def is_open_for_answers(invitation: Invitation, *, now=None) -> bool:
    """Not yet answered, the wave neither closed nor past its closing time, the campaign not cancelled."""
    now = now or timezone.now()
    wave = invitation.wave
    return (
        invitation.responded_at is None
        and wave.status != WaveStatus.CLOSED
        and wave.closes_at > now
        and invitation.campaign.status != CampaignStatus.CANCELLED
    )


def invitation_open_for_answers(*, token: str) -> Invitation:
    """The invitation behind `token` when it may be answered now; SurveyUnavailable otherwise."""
    invitation = invitation_for_token(token)
    if invitation is None or not is_open_for_answers(invitation):
        raise SurveyUnavailable
    return invitation


def questions_of(invitation: Invitation) -> list[Question]:
    return list(Question.objects.filter(version_id=invitation.campaign.template_version_id).order_by("position"))


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | frozenset):
        return not any(str(item).strip() for item in value)
    return False


def _clean_answer(question: Question, value: Any) -> Any:
    """The stored form of one non-empty answer (int, list of choices, or text); ValueError with the
    message for the respondent when it does not fit the question."""
    kind = question.kind
    if kind in SCALES:
        low, high = SCALES[kind]
        message = _("Choose a number from %(low)s to %(high)s.") % {"low": low, "high": high}
        if isinstance(value, bool):
            raise ValueError(message)
        try:
            score = int(str(value).strip())
        except (TypeError, ValueError):
            raise ValueError(message) from None
        if not low <= score <= high:
            raise ValueError(message)
        return score
    if kind == QuestionKind.SINGLE_CHOICE:
        if isinstance(value, list | tuple):
            if len(value) != 1:
                raise ValueError(_("Choose one answer."))
            value = value[0]
        choice = str(value)
        if choice not in question.choices:
            raise ValueError(_("Choose one of the answers offered."))
        return [choice]
    if kind == QuestionKind.MULTIPLE_CHOICE:
        values = [value] if isinstance(value, str) else list(value)
        chosen = [str(item) for item in values if str(item).strip()]
        if any(choice not in question.choices for choice in chosen):
            raise ValueError(_("Choose only among the answers offered."))
        if len(set(chosen)) != len(chosen):
            raise ValueError(_("Choose each answer at most once."))
        # The question's order, so two respondents choosing the same set store the same array.
        return [choice for choice in question.choices if choice in chosen]
    text = str(value).strip()
    if len(text) > TEXT_MAX_LENGTH:
        raise ValueError(_("Please keep this answer under %(max)s characters.") % {"max": TEXT_MAX_LENGTH})
    return text


def validate_answers(questions: list[Question], answers: Mapping[int, Any]) -> dict[int, Any]:
    """Check every answer against its question; {question id: clean value} for the answered ones.

    Raises ValidationError keyed `q<question id>` (the public form's field names), with every
    problem at once so the respondent fixes them in one go.
    """
    by_id = {question.pk: question for question in questions}
    errors: dict[str, list[str]] = {}
    unknown = [key for key in answers if _as_int(key) not in by_id]
    if unknown:
        errors["__all__"] = [_("Some answers do not belong to this survey.")]
    clean: dict[int, Any] = {}
    for question in questions:
        value = answers.get(question.pk, answers.get(str(question.pk)))
        if _is_empty(value):
            if question.required:
                errors[f"q{question.pk}"] = [_("Please answer this question.")]
            continue
        try:
            clean[question.pk] = _clean_answer(question, value)
        except ValueError as error:
            errors[f"q{question.pk}"] = [str(error)]
    if errors:
        raise ValidationError(errors)
    return clean


def _as_int(key: Any) -> int | None:
    try:
        return int(key)
    except (TypeError, ValueError):
        return None


def low_scores(questions: list[Question], clean: Mapping[int, Any]) -> list[tuple[Question, int]]:
    """The answers at or below the follow-up thresholds (NPS and CSAT, settings.SURVEY_FOLLOW_UP_*)."""
    limits = {
        QuestionKind.NPS: settings.SURVEY_FOLLOW_UP_NPS_MAX,
        QuestionKind.CSAT: settings.SURVEY_FOLLOW_UP_CSAT_MAX,
    }
    return [
        (question, clean[question.pk])
        for question in questions
        if question.kind in limits and question.pk in clean and clean[question.pk] <= limits[question.kind]
    ]


def _follow_up_text(invitation: Invitation, lows: list[tuple[Question, int]]) -> str:
    """The follow-up's text in the portal's language: staff read it, whichever language the
    customer answered in."""
    with translation.override(settings.LANGUAGE_CODE):
        return _follow_up_text_now(invitation, lows)


def _follow_up_text_now(invitation: Invitation, lows: list[tuple[Question, int]]) -> str:
    scores = "; ".join(
        _("%(kind)s %(score)s of %(high)s (“%(question)s”)")
        % {
            "kind": QuestionKind(question.kind).name,
            "score": score,
            "high": SCALES[question.kind][1],
            "question": question.text,
        }
        for question, score in lows
    )
    return _(
        "Low score in survey campaign “%(campaign)s”, wave %(wave)s: %(scores)s. "
        "Please call the customer back to understand what went wrong."
    ) % {"campaign": invitation.campaign.name, "wave": invitation.wave.number, "scores": scores}


def create_follow_up(invitation: Invitation, lows: list[tuple[Question, int]]) -> Feedback:
    """Negative survey feedback for the campaign owner, new on the triage board, marked to call back."""
    csat = [score for question, score in lows if question.kind == QuestionKind.CSAT]
    return feedback_services.feedback_record_for_customer(
        channel=FeedbackChannel.SURVEY,
        text=_follow_up_text(invitation, lows),
        customer=invitation.customer,
        contact=invitation.contact,
        product=invitation.product,
        rating=min(csat) if csat else None,
        sentiment=Sentiment.NEGATIVE,
        owner=invitation.campaign.owner,
        call_back=True,
    )


@transaction.atomic
def response_submit(*, token: str, answers: Mapping[int, Any]) -> Response:
    """Store the one response to the invitation behind `token`.

    `answers` maps question id to the raw value (a score, a choice, a list of choices, a text;
    empty means unanswered). Refuses with SurveyUnavailable for an unknown token, a closed or
    expired wave, a cancelled campaign, or an invitation already answered (no editing: see the
    module docstring). Invalid answers raise ValidationError keyed `q<question id>` and nothing
    is stored. Locks the invitation; writes the Response (free-text answers encrypted as JSON),
    one Answer per scored or chosen answer, `invitation.responded_at`, and the audit entry with
    the public as actor. A low NPS or CSAT creates follow-up feedback linked as `follow_up`.
    """
    found = invitation_for_token(token)
    if found is None:
        raise SurveyUnavailable
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("wave", "campaign__owner", "customer", "contact", "product")
        .get(pk=found.pk)
    )
    if not is_open_for_answers(invitation) or Response.objects.filter(invitation=invitation).exists():
        raise SurveyUnavailable
    questions = questions_of(invitation)
    clean = validate_answers(questions, answers)
    now = timezone.now()
    lows = low_scores(questions, clean)
    follow_up = create_follow_up(invitation, lows) if lows else None

    texts = {str(q.pk): clean[q.pk] for q in questions if q.kind == QuestionKind.TEXT and q.pk in clean}
    response = Response(
        invitation=invitation,
        campaign_id=invitation.campaign_id,
        wave_id=invitation.wave_id,
        customer_id=invitation.customer_id,
        product_id=invitation.product_id,
        submitted_at=now,
        follow_up=follow_up,
    )
    response.comments_json = json.dumps(texts, ensure_ascii=False) if texts else ""
    try:
        with transaction.atomic():
            response.save()
    except IntegrityError:
        # Two submissions racing past the lock cannot happen, but the OneToOne is the last word.
        raise SurveyUnavailable from None
    Answer.objects.bulk_create(
        [
            Answer(
                response=response,
                question=question,
                campaign_id=invitation.campaign_id,
                kind=question.kind,
                submitted_at=now,
                score=clean[question.pk] if question.kind in SCALES else None,
                choices=clean[question.pk] if question.kind in CHOICE_KINDS else [],
            )
            for question in questions
            if question.pk in clean and question.kind != QuestionKind.TEXT
        ]
    )
    invitation.responded_at = now
    invitation.save(update_fields=["responded_at"])

    changes: dict[str, Any] = {
        "invitation": [None, invitation.pk],
        "campaign": [None, invitation.campaign_id],
        "wave": [None, invitation.wave_id],
        "scores": [None, {str(q.pk): clean[q.pk] for q in questions if q.kind in SCALES and q.pk in clean}],
    }
    if texts:
        changes["comments_ct"] = [None, "set"]
    if follow_up is not None:
        changes["follow_up"] = [None, follow_up.pk]
    audit.record(actor=AuditEntry.ActorKind.PUBLIC, action=AuditEntry.Action.CREATE, obj=response, changes=changes)
    return response


@transaction.atomic
def survey_opt_out(*, token: str) -> None:
    """The invitation's contact is never surveyed again. Idempotent; works for any known token,
    open or not (people opt out from old e-mails too). An unknown token changes nothing and is
    not an error, so the opt-out page answers the same whether or not a link exists."""
    invitation = invitation_for_token(token)
    if invitation is None:
        return
    opt_out, created = SurveyOptOut.objects.get_or_create(
        contact_id=invitation.contact_id, defaults={"invitation": invitation}
    )
    if created:
        audit.record(
            actor=AuditEntry.ActorKind.PUBLIC,
            action=AuditEntry.Action.CREATE,
            obj=opt_out,
            changes={"contact": [None, invitation.contact_id], "invitation": [None, invitation.pk]},
        )


@transaction.atomic
def responses_erase_for_contact(*, contact_id: int, actor) -> list[int]:
    """Destroy the free text of every response to the contact's invitations (registered with
    apps.core.personal_data, so customers.contact_erase runs it inside its transaction).

    Shreds each response's data key and clears its ciphertext, so nothing they wrote can be read
    again, from this row or any copy; scores, choices and the follow-up link stay for the results.
    Locks the responses in primary-key order and writes one ERASE audit entry per response, which
    names the fields only. Idempotent: responses already erased are left alone. Returns the ids erased.
    """
    responses = list(
        Response.objects.select_for_update(of=("self",))
        .filter(invitation__contact_id=contact_id, erased_at__isnull=True)
        .order_by("pk")
    )
    now = timezone.now()
    for response in responses:
        response.shred_key()
        response.comments_ct = ""
        response.erased_at = now
        response.save(update_fields=["data_key", "comments_ct", "erased_at"])
        audit.record(
            actor=actor,
            action=AuditEntry.Action.ERASE,
            obj=response,
            changes={"comments_ct": ["", ""]},
            reason=f"Contact #{contact_id} erased",
        )
    return [response.pk for response in responses]


@transaction.atomic
def responses_export(*, campaign_id: int, actor) -> Campaign:
    """Record that `actor` exports the campaign's responses (free text included: personal data),
    before the first row leaves. Needs surveys.export_responses (PermissionDenied)."""
    require_perm(actor, EXPORT_PERMISSION)
    campaign = Campaign.objects.get(pk=campaign_id)
    audit.record(
        actor=actor,
        action=AuditEntry.Action.EXPORT,
        obj=campaign,
        changes={"responses": Response.objects.filter(campaign_id=campaign_id).count()},
    )
    return campaign
