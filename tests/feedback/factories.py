"""Feedback for tests, written through the services like the application does."""

from __future__ import annotations

import factory

from apps.feedback import services
from apps.feedback.models import Feedback, FeedbackCategory
from tests.customers.factories import ContactFactory, CustomerFactory, ProductFactory  # noqa: F401 - re-exported


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeedbackCategory
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Category {n}")


class FeedbackFactory(factory.Factory):
    """Feedback recorded by `actor` (required) through `feedback_record`; owner defaults to the actor."""

    class Meta:
        model = Feedback

    channel = "email"
    text = factory.Sequence(lambda n: f"Delivery {n} arrived late and the box was damaged.")
    rating = 2

    @classmethod
    def _create(cls, model_class, *args, actor, **kwargs):
        return services.feedback_record(actor=actor, **kwargs)


class PublicFeedbackFactory(factory.Factory):
    class Meta:
        model = Feedback

    text = "Great service, thank you."
    rating = 5

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.feedback_submit_public(**kwargs)
