"""Questionnaires: creating survey templates and editing their versions.

A version's questions may change only until a campaign sends invitations from it
(`TemplateVersion.locked_at`, set by dispatch). Editing a locked version leaves it exactly
as it was and creates version number + 1, so every answer keeps pointing at the question
the customer actually saw. Every service checks TEMPLATE_PERMISSION (PermissionDenied),
validates the questions (ValidationError with one message per problem) and writes its
audit entry in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.surveys.models import (
    CHOICE_KINDS,
    TEMPLATE_PERMISSION,
    Question,
    QuestionKind,
    SurveyTemplate,
    TemplateVersion,
)
from apps.surveys.services.permissions import require_perm

MAX_QUESTIONS = 30
MIN_CHOICES = 2
MAX_CHOICES = 20
VERSION_FIELDS = ["title", "introduction", "thank_you"]
QUESTION_KEYS = ("kind", "text", "help_text", "required", "choices")


def clean_questions(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The questions normalised (texts trimmed, blank choices dropped), or ValidationError
    {"questions": [...]} naming each problem by question number. Forms call this too, so the
    page and the service agree on every message."""
    errors: list[str] = []
    cleaned: list[dict[str, Any]] = []
    if not questions:
        errors.append(_("Add at least one question."))
    elif len(questions) > MAX_QUESTIONS:
        errors.append(
            _("A questionnaire has at most %(max)d questions (this one has %(count)d).")
            % {"max": MAX_QUESTIONS, "count": len(questions)}
        )
    for number, question in enumerate(questions, start=1):
        kind = question.get("kind") or ""
        text = (question.get("text") or "").strip()
        help_text = (question.get("help_text") or "").strip()
        choices = [str(choice).strip() for choice in question.get("choices") or [] if str(choice).strip()]
        where = {"n": number}
        if kind not in QuestionKind.values:
            errors.append(_("Question %(n)d: choose a question type.") % where)
        if not text:
            errors.append(_("Question %(n)d: write the question.") % where)
        elif len(text) > Question._meta.get_field("text").max_length:
            errors.append(_("Question %(n)d: the question is longer than 500 characters.") % where)
        if len(help_text) > Question._meta.get_field("help_text").max_length:
            errors.append(_("Question %(n)d: the help text is longer than 500 characters.") % where)
        if kind in CHOICE_KINDS:
            folded = [choice.casefold() for choice in choices]
            if len(choices) < MIN_CHOICES:
                errors.append(_("Question %(n)d: a choice question needs at least 2 choices.") % where)
            elif len(choices) > MAX_CHOICES:
                errors.append(_("Question %(n)d: a choice question has at most 20 choices.") % where)
            if len(set(folded)) != len(folded):
                errors.append(_("Question %(n)d: each choice must be different.") % where)
            if any(len(choice) > 200 for choice in choices):
                errors.append(_("Question %(n)d: a choice is longer than 200 characters.") % where)
        elif choices and kind in QuestionKind.values:
            errors.append(_("Question %(n)d: only choice questions have choices.") % where)
        cleaned.append(
            {
                "kind": kind,
                "text": text,
                "help_text": help_text,
                "required": bool(question.get("required", True)),
                "choices": choices,
            }
        )
    if errors:
        raise ValidationError({"questions": errors})
    return cleaned


def _clean_version(title: str, introduction: str, thank_you: str) -> dict[str, str]:
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": [_("Give the survey a title that customers see.")]})
    if len(title) > TemplateVersion._meta.get_field("title").max_length:
        raise ValidationError({"title": [_("The title is longer than 200 characters.")]})
    return {"title": title, "introduction": (introduction or "").strip(), "thank_you": (thank_you or "").strip()}


def _question_list(version: TemplateVersion) -> list[dict[str, Any]]:
    return [
        {key: getattr(question, key) for key in QUESTION_KEYS}
        for question in Question.objects.filter(version=version).order_by("position")
    ]


def _create_questions(version: TemplateVersion, questions: list[dict[str, Any]]) -> None:
    Question.objects.bulk_create(
        Question(version=version, position=position, **{key: question[key] for key in QUESTION_KEYS})
        for position, question in enumerate(questions, start=1)
    )


def _new_version(template: SurveyTemplate, number: int, texts: dict[str, str], questions, actor) -> TemplateVersion:
    version = TemplateVersion.objects.create(template=template, number=number, **texts)
    _create_questions(version, questions)
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=version,
        changes={
            **audit.diff({}, audit.snapshot(version, ["template", "number", *VERSION_FIELDS])),
            "questions": [None, questions],
        },
    )
    return version


@transaction.atomic
def template_create(
    *,
    actor: User,
    name: str,
    description: str,
    title: str,
    introduction: str,
    thank_you: str,
    questions: list[dict[str, Any]],
) -> SurveyTemplate:
    """A new questionnaire with its version 1. Names are unique (ignoring case)."""
    require_perm(actor, TEMPLATE_PERMISSION)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Give the questionnaire a name.")]})
    if SurveyTemplate.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": [_("A questionnaire with this name already exists.")]})
    texts = _clean_version(title, introduction, thank_you)
    questions = clean_questions(questions)
    template = SurveyTemplate.objects.create(name=name, description=(description or "").strip(), created_by=actor)
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=template,
        changes=audit.diff({}, audit.snapshot(template, ["name", "description", "is_active"])),
    )
    _new_version(template, 1, texts, questions, actor)
    return template


@transaction.atomic
def template_update(*, template_id: int, actor: User, name: str, description: str) -> SurveyTemplate:
    """Rename a questionnaire or change its description (versions are untouched)."""
    require_perm(actor, TEMPLATE_PERMISSION)
    template = SurveyTemplate.objects.select_for_update().get(pk=template_id)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Give the questionnaire a name.")]})
    if SurveyTemplate.objects.filter(name__iexact=name).exclude(pk=template.pk).exists():
        raise ValidationError({"name": [_("A questionnaire with this name already exists.")]})
    before = audit.snapshot(template, ["name", "description"])
    template.name, template.description = name, (description or "").strip()
    changes = audit.diff(before, audit.snapshot(template, ["name", "description"]))
    if changes:
        template.save(update_fields=["name", "description", "updated_at"])
        audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=template, changes=changes)
    return template


@transaction.atomic
def template_version_edit(
    *,
    version_id: int,
    actor: User,
    title: str,
    introduction: str,
    thank_you: str,
    questions: list[dict[str, Any]],
) -> TemplateVersion:
    """Change a version's texts and questions. In place while the version is unlocked;
    once locked, the version stays as it is and the edit becomes version number + 1
    (campaigns keep the version they were created with). Returns the version written.

    Locks the template (two edits of a locked version must not both take number + 1) and
    then the version row, so an edit and dispatch locking the version take turns: an edit
    never lands in place on a version that started sending meanwhile.
    """
    require_perm(actor, TEMPLATE_PERMISSION)
    template_id = TemplateVersion.objects.values_list("template_id", flat=True).get(pk=version_id)
    template = SurveyTemplate.objects.select_for_update().get(pk=template_id)
    version = TemplateVersion.objects.select_for_update().get(pk=version_id)
    texts = _clean_version(title, introduction, thank_you)
    questions = clean_questions(questions)
    before = {**audit.snapshot(version, VERSION_FIELDS), "questions": _question_list(version)}
    after = {**texts, "questions": questions}
    changes = audit.diff(before, after)
    if not changes:
        return version
    if version.is_locked:
        number = TemplateVersion.objects.filter(template=template).aggregate(n=Max("number"))["n"] + 1
        return _new_version(template, number, texts, questions, actor)
    for field, value in texts.items():
        setattr(version, field, value)
    version.save(update_fields=[*VERSION_FIELDS, "updated_at"])
    if "questions" in changes:
        # An unlocked version has no answers yet (answers need sent invitations, which lock it),
        # so its questions can be replaced. One by one: bulk delete would escape the audit guard.
        for question in Question.objects.filter(version=version).order_by("position"):
            question.delete()
        _create_questions(version, questions)
    audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=version, changes=changes)
    return version


@transaction.atomic
def template_set_active(*, template_id: int, actor: User, is_active: bool) -> SurveyTemplate:
    """Retire a questionnaire (no new campaigns use it) or bring it back. Campaigns already
    using it are not affected."""
    require_perm(actor, TEMPLATE_PERMISSION)
    template = SurveyTemplate.objects.select_for_update().get(pk=template_id)
    if template.is_active == is_active:
        return template
    template.is_active = is_active
    template.save(update_fields=["is_active", "updated_at"])
    audit.record(
        actor=actor, action=AuditEntry.Action.UPDATE, obj=template, changes={"is_active": [not is_active, is_active]}
    )
    return template
