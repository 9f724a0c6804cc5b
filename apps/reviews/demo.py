"""Demo records for `manage.py seed_demo` (idempotent).

A quarterly review schedule, and the review of the last quarter as the schedule would have
made it: inputs compiled and a report generated, the meeting held, a decision recorded with a
tracked action, left open for the quality manager to close. Nothing is added when the
schedule exists already.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.roles import Role
from apps.reviews import services
from apps.reviews.models import ReviewJob, ReviewSchedule, add_months

SCHEDULE_NAME = "Quarterly management review"


@transaction.atomic
def load(users) -> None:
    if ReviewSchedule.objects.filter(name=SCHEDULE_NAME).exists():
        return
    manager = users[Role.QUALITY_MANAGER]
    owner = users.get(Role.STAFF, manager)
    today = timezone.localdate()
    quarter = add_months(today.replace(day=1), -((today.month - 1) % 3))
    last_quarter = add_months(quarter, -3)
    schedule = services.schedule_save(
        actor=manager,
        name=SCHEDULE_NAME,
        interval=3,
        chair=manager,
        attendees="Managing director\nQuality manager\nHead of customer service",
        distribution="board@example.com",
        next_period_start=last_quarter,
    )
    services.schedule_tick(now=max(schedule.next_run_at, timezone.now()))
    review = schedule.reviews.get()
    services.review_update(
        review_id=review.pk,
        actor=manager,
        external_internal_issues="A new competitor entered the pump market; two key accounts renegotiated terms.",
        audit_results="Internal audit of complaint handling: one minor finding (late acknowledgements).",
        external_providers="Carrier on-time delivery 91 % (target 95 %).",
        resources="Customer service is one person short since the last quarter.",
        risks_opportunities="The supplier-diversification action reduced late deliveries.",
        improvement_opportunities="Self-service complaint tracking for key accounts.",
    )
    for job in ReviewJob.objects.filter(review=review, status=ReviewJob.Status.QUEUED):
        services.job_run(job_id=job.pk)
    services.review_hold(
        review_id=review.pk,
        actor=manager,
        held_on=min(today, max(review.meeting_date, review.period_end + timedelta(days=1))),
        attendees=review.attendees,
        minutes="Inputs reviewed; complaint acknowledgement times discussed.",
    )
    services.decision_add(
        review_id=review.pk,
        actor=manager,
        kind="resources",
        text="Add a second complaint handler to bring acknowledgement times back within SLA.",
        action_title="Recruit and train a second complaint handler",
        action_owner=owner,
        action_due=today + timedelta(days=60),
    )
