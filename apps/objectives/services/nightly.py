"""The nightly run: queue the computed objectives still being measured, and tell owners once
when an active objective's target period is over."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core.links import absolute_url
from apps.core.queue import enqueue_on_commit
from apps.core.services import email_enqueue, in_language
from apps.objectives import rules
from apps.objectives.models import KpiKind, Performance, Period, QualityObjective
from apps.objectives.services._common import Status, lock


def _earliest_period_start(today: date) -> date:
    """The earliest start of a previous period, monthly or quarterly: a looser bound the periods then refine."""
    return min(rules.previous_period(today, period)[0] for period in Period.values)


def measure_all(*, today: date | None = None, limit: int = 1000) -> int:
    """Queue `objectives.measure` for every active computed objective whose target period is not long over.

    objective_measure writes the previous and the current period; an objective
    whose target period precedes both has nothing left to measure.
    """
    from apps.objectives.tasks import measure_task

    today = today or timezone.localdate()
    candidates = (
        QualityObjective.objects.active()
        .filter(kpi_kind=KpiKind.COMPUTED, target_date__gte=_earliest_period_start(today))
        .order_by("pk")
        .values_list("pk", "period", "target_date")
    )
    ids = [pk for pk, period, target in candidates if target >= rules.previous_period(today, period)[0]][:limit]
    for objective_id in ids:
        enqueue_on_commit(measure_task, objective_id)
    return len(ids)


def notify_past_target(*, today: date | None = None, limit: int = 1000) -> int:
    """Active objectives whose target period is over: tell the owner once to close them.

    One not achieved by then proposes a corrective action. Returns how many were told.
    """
    today = today or timezone.localdate()
    candidates = (
        QualityObjective.objects.active()
        .filter(past_target_notified_at__isnull=True, target_date__lt=today)
        .order_by("pk")
        .values_list("pk", "period", "target_date")
    )
    due = [pk for pk, period, target in candidates if rules.period_bounds(target, period)[1] < today][:limit]
    return sum(_notify_past_target(objective_id, today=today) for objective_id in due)


@transaction.atomic
def _notify_past_target(objective_id: int, *, today: date) -> bool:
    objective = lock(objective_id)
    if objective.status != Status.ACTIVE or objective.past_target_notified_at is not None:
        return False
    changes = {"past_target_notified_at": [None, timezone.now()]}
    objective.past_target_notified_at = changes["past_target_notified_at"][1]
    fields = ["past_target_notified_at"]
    propose = objective.performance != Performance.ACHIEVED and not objective.action_proposed
    if propose:
        objective.action_proposed = True
        fields.append("action_proposed")
        changes["action_proposed"] = [False, True]
    objective.save(update_fields=[*fields, "updated_at"])
    audit.record(actor=None, action=AuditEntry.Action.UPDATE, obj=objective, changes=changes)
    owner = objective.owner
    if not owner.is_active:
        return True
    with in_language(getattr(owner, "language", None)):
        paragraphs = [
            _("The target period of quality objective %(ref)s (%(title)s) is over; its performance is %(perf)s.")
            % {"ref": objective.reference, "title": objective.title, "perf": objective.get_performance_display()},
            _("Close it as achieved or not achieved on its page."),
        ]
        if objective.performance != Performance.ACHIEVED:
            paragraphs.append(_("A corrective action is proposed on the objective's page."))
        email_enqueue(
            to=owner.email,
            subject=_("Objective %(ref)s: the target period is over") % {"ref": objective.reference},
            template="emails/objectives_performance_changed.txt",
            html_template="emails/notification.html",
            context={
                "greeting": _("Hello %(name)s,") % {"name": owner.display_name},
                "paragraphs": paragraphs,
                "link": absolute_url(objective.get_absolute_url()),
                "link_label": objective.reference,
            },
            idempotency_key=f"objective-past-target:{objective.pk}",
            language=getattr(owner, "language", None),
        )
    return True
