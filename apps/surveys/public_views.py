"""The customer's survey pages under /s/<token>/: answer, thank-you, opt-out. No account.

Plain HTML forms (no JavaScript needed), CSRF, honeypot and rate limits per client address
and link. Every way a link can be unusable (unknown, expired, closed, cancelled, already
answered) gets the same page with status 404, the opt-out pages are the same for every link,
and the thank-you page only shows in the browser that has just answered, so nobody learns
whether a token ever existed or was answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views import View

from apps.core.i18n import speak_recipients_language
from apps.core.public import (
    HONEYPOT_FIELD,
    HoneypotFormMixin,
    rate_limit_claim,
    rate_limited,
    rate_limited_messages,
    too_many_requests,
)
from apps.surveys.models import SCALES, Question, QuestionKind, token_hash
from apps.surveys.services import responses as response_services

# Posts per window (seconds): per client address and link, and per client address to unusable links.
RATE_LIMIT = (20, 600)
UNAVAILABLE_TEMPLATE = "surveys/public/unavailable.html"
THANKS_SESSION_KEY = "surveys_answered"
THANKS_REMEMBERED = 10  # links one browser answered that still show their thank-you page

# What the ends of each scale mean, shown next to the first and last value.
SCALE_ENDS = {
    QuestionKind.NPS: (_("Not at all likely"), _("Extremely likely")),
    QuestionKind.CSAT: (_("Very dissatisfied"), _("Very satisfied")),
    QuestionKind.CES: (_("Very difficult"), _("Very easy")),
}


class SurveyHoneypotForm(HoneypotFormMixin):
    """Only the honeypot: the questions are rendered from the questionnaire, not a Form class."""


@dataclass
class Option:
    value: str
    label: str
    checked: bool
    id: str


@dataclass
class QuestionField:
    """What the template needs to render one question accessibly."""

    question: Question
    name: str
    value: Any
    errors: list[str] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    low_label: str = ""
    high_label: str = ""

    @property
    def kind(self) -> str:
        return self.question.kind

    @property
    def is_scale(self) -> bool:
        return self.question.kind in SCALES

    @property
    def is_choice(self) -> bool:
        return self.question.kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)

    @property
    def input_type(self) -> str:
        return "checkbox" if self.question.kind == QuestionKind.MULTIPLE_CHOICE else "radio"

    @property
    def anchor(self) -> str:
        """The element the error summary links to: the first option of a group, else the field."""
        return f"{self.name}-0" if self.options else self.name

    @property
    def described_by(self) -> str:
        ids = []
        if self.question.help_text:
            ids.append(f"{self.name}-help")
        if self.is_scale:
            ids.append(f"{self.name}-ends")
        if self.errors:
            ids.append(f"{self.name}-error")
        return " ".join(ids)


def _fields(questions: list[Question], data=None, errors: dict[str, list[str]] | None = None) -> list[QuestionField]:
    errors = errors or {}
    fields = []
    for question in questions:
        name = f"q{question.pk}"
        if question.kind == QuestionKind.MULTIPLE_CHOICE:
            value = data.getlist(name) if data is not None else []
        else:
            value = data.get(name, "") if data is not None else ""
        item = QuestionField(question=question, name=name, value=value, errors=errors.get(name, []))
        if question.kind in SCALES:
            low, high = SCALES[question.kind]
            item.low_label, item.high_label = SCALE_ENDS[question.kind]
            values = [str(number) for number in range(low, high + 1)]
        elif item.is_choice:
            values = list(question.choices)
        else:
            values = []
        chosen = value if isinstance(value, list) else [value]
        item.options = [
            Option(value=v, label=v, checked=v in chosen, id=f"{name}-{index}") for index, v in enumerate(values)
        ]
        fields.append(item)
    return fields


def _answers(questions: list[Question], data) -> dict[int, Any]:
    return {
        question.pk: data.getlist(f"q{question.pk}")
        if question.kind == QuestionKind.MULTIPLE_CHOICE
        else data.get(f"q{question.pk}", "")
        for question in questions
    }


def unavailable(request):
    """The one page for every unusable link: same body, status 404."""
    return render(request, UNAVAILABLE_TEMPLATE, status=404)


def _limited(request, scope: str, token: str) -> bool:
    """Count one post for this client address and link. Keyed per link, so colleagues behind one
    office address answering their own invitations never share a counter; the hash, so the
    cache holds nothing a link could be rebuilt from."""
    limit, window = RATE_LIMIT
    return rate_limited(request, scope=f"{scope}:{token_hash(token)}", limit=limit, window_seconds=window)


def _unusable_post(request):
    """A post to a link that cannot be answered. Counted per client address (scores of guessed
    links come from one place, colleagues' valid answers never count), the neutral 404 until the
    limit, then 429."""
    limit, window = RATE_LIMIT
    if rate_limited(request, scope="survey-unusable", limit=limit, window_seconds=window):
        return too_many_requests(request)
    return unavailable(request)


def _mark_answered(request, token: str) -> None:
    """Remember in this browser's session that it just answered `token`, for the thank-you page."""
    answered = [value for value in request.session.get(THANKS_SESSION_KEY, []) if value != token_hash(token)]
    request.session[THANKS_SESSION_KEY] = [*answered[-(THANKS_REMEMBERED - 1) :], token_hash(token)]


class AnswerView(View):
    """The questionnaire for one invitation; POST stores the response and shows the thank-you page."""

    template_name = "surveys/public/answer.html"

    def dispatch(self, request, *args, **kwargs):
        try:
            self.invitation = response_services.invitation_open_for_answers(token=kwargs["token"])
        except response_services.SurveyUnavailable:
            return _unusable_post(request) if request.method == "POST" else unavailable(request)
        speak_recipients_language(request, self.invitation.contact.preferred_language)
        self.questions = response_services.questions_of(self.invitation)
        return super().dispatch(request, *args, **kwargs)

    def render_form(self, request, *, fields, honeypot, errors=(), status=200):
        context = {
            "version": self.invitation.campaign.template_version,
            "fields": fields,
            "honeypot": honeypot,
            "errors": list(errors),
            "error_fields": [item for item in fields if item.errors],
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, token):
        return self.render_form(request, fields=_fields(self.questions), honeypot=SurveyHoneypotForm())

    def post(self, request, token):
        limit, window = RATE_LIMIT
        claim = rate_limit_claim(
            request, scope=f"survey-answer:{token_hash(token)}", limit=limit, window_seconds=window
        )
        if claim.exceeded:
            claim.release()
            return self.render_form(
                request,
                fields=_fields(self.questions, request.POST),
                honeypot=SurveyHoneypotForm(request.POST),
                errors=rate_limited_messages(request),
                status=429,
            )
        response = self.submit(request, token)
        # Only an accepted answer counts (#24); a bot caught by the honeypot keeps its count.
        if response.status_code != 302 and not request.POST.get(HONEYPOT_FIELD):
            claim.release()
        return response

    def submit(self, request, token):
        honeypot = SurveyHoneypotForm(request.POST)
        if not honeypot.is_valid():
            return self.render_form(
                request,
                fields=_fields(self.questions, request.POST),
                honeypot=honeypot,
                errors=honeypot.errors.get("website", []),
                status=400,
            )
        try:
            response_services.response_submit(token=token, answers=_answers(self.questions, request.POST))
        except response_services.SurveyUnavailable:
            return _unusable_post(request)
        except ValidationError as error:
            messages = error.message_dict
            return self.render_form(
                request,
                fields=_fields(self.questions, request.POST, messages),
                honeypot=honeypot,
                errors=messages.get("__all__", []),
                status=400,
            )
        _mark_answered(request, token)
        return redirect("surveys_public:thanks", token=token)


class ThanksView(View):
    """The version's thank-you text, only for the browser that has just answered this link (a
    session mark set by the successful POST). Anyone else gets the neutral 404 of unknown links,
    so the page never tells whether a link was answered."""

    def get(self, request, token):
        if token_hash(token) not in request.session.get(THANKS_SESSION_KEY, []):
            return unavailable(request)
        invitation = response_services.invitation_for_token(token)
        if invitation is None:
            return unavailable(request)
        speak_recipients_language(request, invitation.contact.preferred_language)
        return render(request, "surveys/public/thanks.html", {"version": invitation.campaign.template_version})


class OptOutView(View):
    """GET asks for confirmation, POST records it. The same pages for every link, known or not,
    so they never tell whether a link exists; the opt-out is only recorded for a known one.
    Only their language differs: a known link's pages speak the contact's language, as the
    e-mail that carried the link did (its holder read that e-mail, so it tells them nothing)."""

    template_name = "surveys/public/opt_out.html"

    def dispatch(self, request, *args, **kwargs):
        invitation = response_services.invitation_for_token(kwargs["token"])
        if invitation is not None:
            speak_recipients_language(request, invitation.contact.preferred_language)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, token):
        return render(request, self.template_name, {"done": False, "honeypot": SurveyHoneypotForm()})

    def post(self, request, token):
        if _limited(request, "survey-opt-out", token):
            return too_many_requests(request)
        honeypot = SurveyHoneypotForm(request.POST)
        if not honeypot.is_valid():
            context = {"done": False, "honeypot": honeypot, "errors": honeypot.errors.get("website", [])}
            return render(request, self.template_name, context, status=400)
        response_services.survey_opt_out(token=token)
        return render(request, self.template_name, {"done": True})
