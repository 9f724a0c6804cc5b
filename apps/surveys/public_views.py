"""The customer's survey pages under /s/<token>/: answer, thank-you, opt-out. No account.

Plain HTML forms (no JavaScript needed), CSRF, honeypot and a rate limit per client address.
Every way a link can be unusable (unknown, expired, closed, cancelled, already answered)
gets the same page with status 404, so nobody learns whether a token ever existed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views import View

from apps.core.public import HoneypotFormMixin, rate_limited, too_many_requests
from apps.surveys.models import SCALES, Question, QuestionKind
from apps.surveys.services import responses as services

RATE_LIMIT = (20, 600)  # posts per client address per window (seconds); offices share one address
UNAVAILABLE_TEMPLATE = "surveys/public/unavailable.html"

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


def _limited(request, scope: str) -> bool:
    limit, window = RATE_LIMIT
    return rate_limited(request, scope=scope, limit=limit, window_seconds=window)


class AnswerView(View):
    """The questionnaire for one invitation; POST stores the response and shows the thank-you page."""

    template_name = "surveys/public/answer.html"

    def dispatch(self, request, *args, **kwargs):
        try:
            self.invitation = services.invitation_open_for_answers(token=kwargs["token"])
        except services.SurveyUnavailable:
            return unavailable(request)
        self.questions = services.questions_of(self.invitation)
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
        if _limited(request, "survey-answer"):
            return too_many_requests(request)
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
            services.response_submit(token=token, answers=_answers(self.questions, request.POST))
        except services.SurveyUnavailable:
            return unavailable(request)
        except ValidationError as error:
            messages = error.message_dict
            return self.render_form(
                request,
                fields=_fields(self.questions, request.POST, messages),
                honeypot=honeypot,
                errors=messages.get("__all__", []),
                status=400,
            )
        return redirect("surveys_public:thanks", token=token)


class ThanksView(View):
    """The version's thank-you text, once the invitation is answered."""

    def get(self, request, token):
        invitation = services.invitation_for_token(token)
        if invitation is None or invitation.responded_at is None:
            return unavailable(request)
        return render(request, "surveys/public/thanks.html", {"version": invitation.campaign.template_version})


class OptOutView(View):
    """GET asks for confirmation, POST records it. Shows nothing about the contact."""

    template_name = "surveys/public/opt_out.html"

    def dispatch(self, request, *args, **kwargs):
        if services.invitation_for_token(kwargs["token"]) is None:
            return unavailable(request)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, token):
        return render(request, self.template_name, {"done": False})

    def post(self, request, token):
        if _limited(request, "survey-opt-out"):
            return too_many_requests(request)
        try:
            services.survey_opt_out(token=token)
        except services.SurveyUnavailable:
            return unavailable(request)
        return render(request, self.template_name, {"done": True})
