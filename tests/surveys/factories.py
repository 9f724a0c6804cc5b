"""Surveys test data: a questionnaire with one question of each kind, and campaigns on it."""

from datetime import timedelta

import factory
from django.utils import timezone

from apps.accounts.roles import Role
from apps.surveys.models import Campaign, Question, QuestionKind, SurveyTemplate, TemplateVersion
from tests.customers.factories import ProductFactory
from tests.factories import UserFactory

DEFAULT_QUESTIONS = (
    (QuestionKind.NPS, "How likely are you to recommend us to a colleague?", True, []),
    (QuestionKind.CSAT, "How satisfied are you with our service?", True, []),
    (QuestionKind.CES, "How easy was it to get what you needed?", False, []),
    (QuestionKind.SINGLE_CHOICE, "Which channel do you use most?", False, ["Phone", "E-mail", "Portal"]),
    (QuestionKind.MULTIPLE_CHOICE, "What should we improve?", False, ["Price", "Speed", "Quality"]),
    (QuestionKind.TEXT, "Anything else you would like to tell us?", False, []),
)


class SurveyTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveyTemplate

    name = factory.Sequence(lambda n: f"Survey template {n}")
    description = "Relationship survey"


class TemplateVersionFactory(factory.django.DjangoModelFactory):
    """A version with DEFAULT_QUESTIONS (pass `questions=[(kind, text, required, choices), ...]`)."""

    class Meta:
        model = TemplateVersion
        skip_postgeneration_save = True

    template = factory.SubFactory(SurveyTemplateFactory)
    number = 1
    title = "How are we doing?"
    introduction = "Two minutes of your time help us improve."
    thank_you = "Thank you for your answers."

    @factory.post_generation
    def questions(self, create, extracted, **kwargs):
        if not create:
            return
        for position, (kind, text, required, choices) in enumerate(extracted or DEFAULT_QUESTIONS, start=1):
            Question.objects.create(
                version=self, position=position, kind=kind, text=text, required=required, choices=list(choices)
            )


class CampaignFactory(factory.django.DjangoModelFactory):
    """A scheduled one-off campaign to the "Enterprise" segment, due in an hour."""

    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    template_version = factory.SubFactory(TemplateVersionFactory)
    status = Campaign.Status.SCHEDULED
    audience_kind = Campaign.AudienceKind.SEGMENTS
    audience_segments = factory.LazyFunction(lambda: ["Enterprise"])
    recurrence = Campaign.Recurrence.ONCE
    next_run_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    owner = factory.SubFactory(UserFactory, role=Role.QUALITY_MANAGER)
    created_by = factory.SelfAttribute("owner")

    class Params:
        for_product = factory.Trait(
            audience_kind=Campaign.AudienceKind.PRODUCT,
            audience_segments=[],
            audience_product=factory.SubFactory(ProductFactory),
        )
