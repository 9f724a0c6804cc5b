"""Questionnaire services: validation, versioning once locked, permissions, audit entries."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.surveys.models import (
    EXPORT_PERMISSION,
    MANAGE_PERMISSION,
    TEMPLATE_PERMISSION,
    Question,
    SurveyTemplate,
    TemplateVersion,
)
from apps.surveys.services import templates as services
from apps.surveys.services.permissions import require_perm
from tests.surveys.factories import CampaignFactory, TemplateVersionFactory

NPS = {"kind": "nps", "text": "How likely are you to recommend us?", "help_text": "", "required": True, "choices": []}
CHOICE = {"kind": "single", "text": "Which channel?", "help_text": "Pick one", "required": False, "choices": ["A", "B"]}
TEXTS = {"title": "How are we doing?", "introduction": "Two minutes.", "thank_you": "Thanks!"}


def create(actor, **overrides):
    data = {"name": "Relationship", "description": "Yearly", **TEXTS, "questions": [NPS, CHOICE], **overrides}
    return services.template_create(actor=actor, **data)


def entries(obj, action=None):
    qs = AuditEntry.objects.for_object(obj)
    return list(qs.filter(action=action) if action else qs)


def test_create_makes_version_one_with_questions_in_order_and_audits(quality_manager):
    template = create(quality_manager)
    version = template.versions.get()
    assert (version.number, version.title, version.locked_at) == (1, "How are we doing?", None)
    questions = list(version.questions.order_by("position"))
    assert [(q.position, q.kind, q.choices, q.required) for q in questions] == [
        (1, "nps", [], True),
        (2, "single", ["A", "B"], False),
    ]
    assert template.created_by == quality_manager
    assert entries(template, "create")[0].changes["name"] == [None, "Relationship"]
    version_entry = entries(version, "create")[0]
    assert version_entry.changes["questions"][1][1]["choices"] == ["A", "B"]


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ([], "Add at least one question."),
        ([NPS] * 31, "at most 30 questions"),
        ([{**CHOICE, "choices": ["Only one"]}], "Question 1: a choice question needs at least 2 choices."),
        ([{**CHOICE, "choices": [f"c{n}" for n in range(21)]}], "at most 20 choices"),
        ([{**CHOICE, "choices": ["Yes", " yes "]}], "Question 1: each choice must be different."),
        ([NPS, {**NPS, "choices": ["x", "y"]}], "Question 2: only choice questions have choices."),
        ([{**NPS, "text": "  "}], "Question 1: write the question."),
        ([{**NPS, "kind": "stars"}], "Question 1: choose a question type."),
        ([{**NPS, "text": "x" * 501}], "longer than 500 characters"),
    ],
)
def test_invalid_questions_are_refused_with_a_clear_message(quality_manager, questions, message):
    with pytest.raises(ValidationError) as error:
        create(quality_manager, questions=questions)
    assert any(message in text for text in error.value.message_dict["questions"])
    assert not SurveyTemplate.objects.exists()


def test_blank_choices_are_dropped_and_texts_trimmed(quality_manager):
    template = create(quality_manager, questions=[{**CHOICE, "text": " Which? ", "choices": ["A", "", " B "]}])
    question = Question.objects.get(version__template=template)
    assert (question.text, question.choices) == ("Which?", ["A", "B"])


@pytest.mark.parametrize(("field", "value"), [("name", " "), ("title", "")])
def test_name_and_title_are_required(quality_manager, field, value):
    with pytest.raises(ValidationError) as error:
        create(quality_manager, **{field: value})
    assert field in error.value.message_dict


def test_names_are_unique_ignoring_case(quality_manager):
    create(quality_manager)
    with pytest.raises(ValidationError) as error:
        create(quality_manager, name="RELATIONSHIP")
    assert "already exists" in error.value.message_dict["name"][0]


@pytest.mark.parametrize("persona", ["staff", "auditor"])
def test_only_quality_managers_edit_questionnaires(personas, persona):
    version = TemplateVersionFactory()
    user = personas[persona]
    with pytest.raises(PermissionDenied):
        create(user)
    with pytest.raises(PermissionDenied):
        services.template_version_edit(version_id=version.pk, actor=user, **TEXTS, questions=[NPS])
    with pytest.raises(PermissionDenied):
        services.template_set_active(template_id=version.template_id, actor=user, is_active=False)
    assert SurveyTemplate.objects.count() == 1
    assert version.template.is_active


@pytest.mark.parametrize(
    ("permission", "message"),
    [
        (TEMPLATE_PERMISSION, "Only quality managers edit questionnaires."),
        (MANAGE_PERMISSION, "You may not run survey campaigns."),
        (EXPORT_PERMISSION, "You may not export survey responses."),
    ],
)
def test_the_surveys_permission_check_refuses_deactivated_and_anonymous_users_with_the_duty_named(
    quality_manager, anonymous, permission, message
):
    require_perm(quality_manager, permission)
    quality_manager.is_active = False
    for user in (quality_manager, anonymous, None):
        with pytest.raises(PermissionDenied, match=message):
            require_perm(user, permission)


def test_unlocked_version_is_edited_in_place(quality_manager):
    version = create(quality_manager).versions.get()
    edited = services.template_version_edit(
        version_id=version.pk, actor=quality_manager, **{**TEXTS, "title": "New title"}, questions=[CHOICE]
    )
    assert edited.pk == version.pk
    assert TemplateVersion.objects.count() == 1
    assert list(Question.objects.filter(version=version).values_list("kind", "position")) == [("single", 1)]
    update = entries(version, "update")[0]
    assert update.changes["title"] == ["How are we doing?", "New title"]
    assert [q["kind"] for q in update.changes["questions"][0]] == ["nps", "single"]


def test_edit_without_changes_writes_nothing(quality_manager):
    version = create(quality_manager).versions.get()
    services.template_version_edit(version_id=version.pk, actor=quality_manager, **TEXTS, questions=[NPS, CHOICE])
    assert entries(version, "update") == []


def test_locked_version_never_changes_and_edit_creates_next_version(quality_manager):
    version = TemplateVersionFactory()
    campaign = CampaignFactory(template_version=version)
    TemplateVersion.objects.filter(pk=version.pk).unaudited_update(locked_at=timezone.now())
    before = list(Question.objects.filter(version=version).values_list("pk", "kind", "text", "choices"))
    new = services.template_version_edit(
        version_id=version.pk, actor=quality_manager, **{**TEXTS, "title": "Shorter"}, questions=[NPS]
    )
    assert (new.number, new.template_id, new.title, new.locked_at) == (2, version.template_id, "Shorter", None)
    assert list(new.questions.values_list("kind", flat=True)) == ["nps"]
    version.refresh_from_db()
    assert version.title == "How are we doing?"
    assert list(Question.objects.filter(version=version).values_list("pk", "kind", "text", "choices")) == before
    campaign.refresh_from_db()
    assert campaign.template_version_id == version.pk
    assert entries(new, "create")
    # Editing the locked version again makes version 3, never a second version 2.
    third = services.template_version_edit(version_id=version.pk, actor=quality_manager, **TEXTS, questions=[NPS])
    assert third.number == 3


def test_saving_a_locked_version_unchanged_makes_no_new_version(quality_manager):
    version = create(quality_manager).versions.get()
    TemplateVersion.objects.filter(pk=version.pk).unaudited_update(locked_at=timezone.now())
    same = services.template_version_edit(
        version_id=version.pk, actor=quality_manager, **TEXTS, questions=[NPS, CHOICE]
    )
    assert same.pk == version.pk
    assert TemplateVersion.objects.count() == 1


def test_invalid_edit_of_a_locked_version_creates_nothing(quality_manager):
    version = TemplateVersionFactory()
    TemplateVersion.objects.filter(pk=version.pk).unaudited_update(locked_at=timezone.now())
    with pytest.raises(ValidationError):
        services.template_version_edit(version_id=version.pk, actor=quality_manager, **TEXTS, questions=[])
    assert TemplateVersion.objects.count() == 1


def test_retire_and_reactivate_are_audited_once(quality_manager):
    template = create(quality_manager)
    services.template_set_active(template_id=template.pk, actor=quality_manager, is_active=False)
    services.template_set_active(template_id=template.pk, actor=quality_manager, is_active=False)
    template.refresh_from_db()
    assert template.is_active is False
    assert [e.changes for e in entries(template, "update")] == [{"is_active": [True, False]}]
    services.template_set_active(template_id=template.pk, actor=quality_manager, is_active=True)
    template.refresh_from_db()
    assert template.is_active is True


def test_template_update_renames_and_audits(quality_manager):
    template = create(quality_manager)
    create(quality_manager, name="Other")
    with pytest.raises(ValidationError):
        services.template_update(template_id=template.pk, actor=quality_manager, name="other", description="")
    services.template_update(template_id=template.pk, actor=quality_manager, name="Renamed", description="New")
    template.refresh_from_db()
    assert (template.name, template.description) == ("Renamed", "New")
    assert entries(template, "update")[0].changes["name"] == ["Relationship", "Renamed"]
