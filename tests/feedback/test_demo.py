from datetime import timedelta

from django.utils import timezone

from apps.accounts.roles import Role
from apps.customers import demo as customers_demo
from apps.feedback import demo
from apps.feedback.models import Feedback


def test_demo_feedback_covers_a_year_and_loads_once(personas):
    users = {
        Role.QUALITY_MANAGER: personas["quality_manager"],
        Role.STAFF: personas["staff"],
        Role.AUDITOR: personas["auditor"],
    }
    customers_demo.load(users)
    demo.load(users)
    demo.load(users)
    assert Feedback.objects.count() == 60
    assert set(Feedback.objects.values_list("status", flat=True)) == set(Feedback.Status.values)
    assert set(Feedback.objects.values_list("channel", flat=True)) == set(Feedback.Channel.values)
    assert {"positive", "neutral", "negative"} <= set(Feedback.objects.values_list("sentiment", flat=True))
    assert Feedback.objects.filter(complaint__isnull=False).count() == 2
    oldest = Feedback.objects.order_by("created_at").first().created_at
    assert oldest < timezone.now() - timedelta(days=300)
