"""The computed performance of an active objective and the owner's notification of its changes."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core.links import absolute_url
from apps.core.services import email_enqueue, in_language
from apps.objectives import rules
from apps.objectives.models import Measurement, Performance, PerformanceChange, QualityObjective
from apps.objectives.services._common import Status


def latest_judged(objective: QualityObjective, *, today: date | None = None) -> Measurement | None:
    """The latest measurement with a value among the periods already over.

    The running period is provisional: a few days of it say little about the
    whole period, so it is shown but not judged.
    """
    today = today or timezone.localdate()
    return objective.measurements.filter(value__isnull=False, period_end__lt=today).order_by("-period_start").first()


def evaluate(objective: QualityObjective, *, today: date | None = None) -> QualityObjective:
    """Recompute the performance of an active objective (caller holds the row lock).

    A change is a numbered PerformanceChange row, an audit entry and one e-mail to
    the owner (keyed on the row). Turning off track proposes a corrective action.
    Drafts are not judged (activation evaluates them) and closed objectives keep
    the performance they closed with.
    """
    if objective.status != Status.ACTIVE:
        return objective
    latest = latest_judged(objective, today=today)
    performance = (
        rules.evaluate_objective(objective, value=latest.value, at=latest.period_end)
        if latest is not None
        else Performance.NO_DATA
    )
    if performance == objective.performance:
        return objective
    before = objective.performance
    number = objective.performance_changes.count() + 1
    change = PerformanceChange.objects.create(
        objective=objective,
        number=number,
        from_performance=before,
        to_performance=performance,
        measurement=latest,
        changed_at=timezone.now(),
    )
    objective.performance = performance
    fields = ["performance"]
    changes: dict[str, list[Any]] = {"performance": [before, performance]}
    proposed = objective.action_proposed
    if performance == Performance.OFF_TRACK:
        proposed = True
    elif performance in (Performance.ON_TRACK, Performance.ACHIEVED):
        # back on the path before anyone acted: the proposal no longer has a nonconformity behind it
        proposed = False
    if proposed != objective.action_proposed:
        changes["action_proposed"] = [objective.action_proposed, proposed]
        objective.action_proposed = proposed
        fields.append("action_proposed")
    objective.save(update_fields=[*fields, "updated_at"])
    audit.record(actor=None, action=AuditEntry.Action.UPDATE, obj=objective, changes=changes)
    _notify_owner(objective, change, latest)
    return objective


def _notify_owner(objective: QualityObjective, change: PerformanceChange, latest: Measurement | None) -> None:
    owner = objective.owner
    if not owner.is_active:
        return
    with in_language(getattr(owner, "language", None)):
        paragraphs = [
            _("The performance of quality objective %(ref)s (%(title)s) changed from %(from)s to %(to)s.")
            % {
                "ref": objective.reference,
                "title": objective.title,
                "from": Performance(change.from_performance).label,
                "to": Performance(change.to_performance).label,
            }
        ]
        if latest is not None:
            paragraphs.append(
                _("Latest figure: %(value)s %(unit)s for the period ending %(date)s; target %(target)s by %(due)s.")
                % {
                    "value": latest.value,
                    "unit": objective.unit,
                    "date": latest.period_end.isoformat(),
                    "target": objective.target_value,
                    "due": objective.target_date.isoformat(),
                }
            )
        if change.to_performance == Performance.OFF_TRACK:
            paragraphs.append(_("A corrective action is proposed on the objective's page."))
        email_enqueue(
            to=owner.email,
            subject=_("Objective %(ref)s is now %(to)s")
            % {"ref": objective.reference, "to": Performance(change.to_performance).label},
            template="emails/objectives_performance_changed.txt",
            html_template="emails/notification.html",
            context={
                "greeting": _("Hello %(name)s,") % {"name": owner.display_name},
                "paragraphs": paragraphs,
                "link": absolute_url(objective.get_absolute_url()),
                "link_label": objective.reference,
            },
            idempotency_key=f"objective-status:{change.pk}",
            language=getattr(owner, "language", None),
        )
