import pytest

from tests.feedback.factories import CategoryFactory, FeedbackFactory


@pytest.fixture
def category(db):
    return CategoryFactory(name="Delivery")


@pytest.fixture
def own_feedback(staff):
    """Feedback recorded (and so owned) by `staff`."""
    return FeedbackFactory(actor=staff)


@pytest.fixture
def others_feedback(other_staff):
    """Feedback owned by `other_staff`: `staff` may read it but not change it."""
    return FeedbackFactory(actor=other_staff)
