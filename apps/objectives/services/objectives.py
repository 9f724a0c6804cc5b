"""Creating and editing objectives, their lifecycle, and raising a corrective action from one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation
from apps.core.sequences import next_reference
from apps.objectives import kpi_catalogue, rules
from apps.objectives.models import KpiKind, Performance, QualityObjective
from apps.objectives.services._common import Status, check_manager, lock, require_text
from apps.objectives.services.measurements import enqueue_measure
from apps.objectives.services.performance import evaluate, latest_judged

SCALAR_FIELDS = (
    "title",
    "plan",
    "resources",
    "evaluation",
    "owner",
    "kpi_kind",
    "kpi",
    "kpi_label",
    "filter_product",
    "filter_segment",
    "filter_category",
    "filter_channel",
    "baseline_value",
    "baseline_date",
    "target_value",
    "target_date",
    "higher_is_better",
    "unit",
    "period",
    "tolerance",
)
M2M_FIELDS = ("customer_requirements", "complaint_categories", "products")
RULE_FIELDS = ("baseline_value", "baseline_date", "target_value", "target_date", "higher_is_better", "tolerance")
# What is measured and from where: once there are figures (or the objective is active) they would lose their meaning.
FROZEN_FIELDS = ("kpi_kind", "kpi", "baseline_value", "baseline_date", "period")
# Moving the goalposts of an active objective is allowed, but only with a reason in the audit trail.
REASON_FIELDS = ("target_value", "target_date", "higher_is_better", "tolerance")
MAX_YEARS = 10


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _check(objective: QualityObjective) -> None:
    """The rules one objective must keep, whatever the path that set its fields."""
    require_text(objective.title, _("An objective needs a title."))
    require_text(objective.plan, _("Say what will be done."))
    owner = objective.owner if objective.owner_id is not None else None
    if owner is None or not owner.is_active:
        raise BusinessRuleViolation(_("The owner must be an active user."))
    if not (owner.is_superuser or owner.has_role(Role.QUALITY_MANAGER, Role.STAFF)):
        raise BusinessRuleViolation(_("The owner must be a quality manager or a member of staff."))
    if None in (objective.baseline_value, objective.baseline_date, objective.target_value, objective.target_date):
        raise BusinessRuleViolation(_("Baseline and target need a value and a date."))
    if objective.target_date <= objective.baseline_date:
        raise BusinessRuleViolation(_("The target date must come after the baseline date."))
    if objective.target_date > _years_after(objective.baseline_date, MAX_YEARS):
        raise BusinessRuleViolation(
            _("The target date may be at most %(years)s years after the baseline date.") % {"years": MAX_YEARS}
        )
    if objective.target_value == objective.baseline_value:
        raise BusinessRuleViolation(_("The target must differ from the baseline."))
    if (objective.target_value > objective.baseline_value) != objective.higher_is_better:
        raise BusinessRuleViolation(_("The target must be better than the baseline in the chosen direction."))
    if objective.tolerance is not None and objective.tolerance < 0:
        raise BusinessRuleViolation(_("The tolerance cannot be negative."))
    filters_set = {
        name
        for name, field in kpi_catalogue.FILTER_FIELDS.items()
        if getattr(objective, f"{field}_id" if name in ("product", "category") else field)
    }
    if objective.kpi_kind == KpiKind.COMPUTED:
        if kpi_catalogue.definition(objective.kpi) is None:
            raise BusinessRuleViolation(_("Choose a KPI from the catalogue."))
        unsupported = filters_set - kpi_catalogue.supported_filters(objective.kpi)
        if unsupported:
            raise BusinessRuleViolation(
                _("This KPI cannot be filtered by: %(names)s.") % {"names": ", ".join(sorted(unsupported))}
            )
        kpi_catalogue.check_filter_values(objective)
        objective.kpi_label = ""
    else:
        objective.kpi = ""
        require_text(objective.kpi_label, _("Name the manual KPI."))
        if filters_set:
            raise BusinessRuleViolation(_("Filters apply only to computed KPIs."))


def _set_m2m(objective: QualityObjective, data: dict[str, Any]) -> dict[str, list[Any]]:
    changes = {}
    for name in M2M_FIELDS:
        if name not in data or data[name] is None:
            continue
        manager = getattr(objective, name)
        before = sorted(manager.values_list("pk", flat=True))
        after = sorted({item.pk if hasattr(item, "pk") else int(item) for item in data[name]})
        if before != after:
            manager.set(after)
            changes[name] = [before, after]
    return changes


@transaction.atomic
def objective_create(*, actor: User, **data: Any) -> QualityObjective:
    """Create a draft objective (quality managers). Takes the next OBJ reference and writes the audit entry."""
    check_manager(actor)
    unknown = set(data) - set(SCALAR_FIELDS) - set(M2M_FIELDS)
    if unknown:
        raise TypeError(f"objective_create: unknown fields {sorted(unknown)}")
    objective = QualityObjective(**{name: value for name, value in data.items() if name in SCALAR_FIELDS})
    for name in ("title", "plan", "resources", "evaluation", "kpi_label", "filter_segment", "filter_channel", "unit"):
        setattr(objective, name, (getattr(objective, name) or "").strip())
    _check(objective)
    objective.reference = next_reference("OBJ")
    objective.save(force_insert=True)
    changes = audit.diff({}, audit.snapshot(objective, ["reference", "status", *SCALAR_FIELDS]))
    changes.update(_set_m2m(objective, data))
    audit.record(actor=actor, action=AuditEntry.Action.CREATE, obj=objective, changes=changes)
    return objective


@transaction.atomic
def objective_update(*, objective_id: int, actor: User, reason: str = "", **data: Any) -> QualityObjective:
    """Edit an objective that is not closed.

    KPI, baseline and period are fixed once the objective is active or has
    measurements; the target, direction and tolerance of an active one change
    only with a reason.
    """
    unknown = set(data) - set(SCALAR_FIELDS) - set(M2M_FIELDS)
    if unknown:
        raise TypeError(f"objective_update: unknown fields {sorted(unknown)}")
    objective = lock(objective_id)
    check_manager(actor, objective)
    if objective.is_final:
        raise BusinessRuleViolation(_("A closed objective can no longer be edited."))
    reason = (reason or "").strip()
    before = audit.snapshot(objective, SCALAR_FIELDS)
    for name in SCALAR_FIELDS:
        if name in data:
            value = data[name]
            setattr(objective, name, value.strip() if isinstance(value, str) else value)
    _check(objective)  # may clear the KPI field the chosen kind does not use, so it runs before the diff
    changes = audit.diff(before, audit.snapshot(objective, SCALAR_FIELDS))
    if set(changes) & set(FROZEN_FIELDS):
        if objective.status != Status.DRAFT:
            raise BusinessRuleViolation(
                _("The KPI, the baseline and the period cannot change once the objective is active.")
            )
        if objective.measurements.exists():
            raise BusinessRuleViolation(
                _("The KPI, the baseline and the period cannot change once the objective has measurements.")
            )
    if objective.status == Status.ACTIVE and set(changes) & set(REASON_FIELDS) and not reason:
        raise BusinessRuleViolation(
            _("Give the reason for changing the target, the direction or the tolerance of an active objective.")
        )
    if changes:
        objective.save(update_fields=[*changes, "updated_at"])
    changes.update(_set_m2m(objective, data))
    if not changes:
        return objective
    audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=objective, changes=changes, reason=reason)
    if set(changes) & set(RULE_FIELDS):
        evaluate(objective)
    return objective


@transaction.atomic
def objective_transition(*, objective_id: int, to: str, actor: User, reason: str = "") -> QualityObjective:
    """Move an objective along its lifecycle (quality managers); every step is audited.

    Activating evaluates the figures entered as a draft. Closing as achieved while
    the figures do not say so, as not achieved, or cancelling needs a reason.
    Closing as not achieved proposes a corrective action; achieved and cancelled
    withdraw a pending proposal.
    """
    objective = lock(objective_id)
    check_manager(actor, objective)
    objective.check_transition(to)
    if to in (Status.NOT_ACHIEVED, Status.CANCELLED):
        reason = require_text(reason, _("Give the reason."))
    if to == Status.ACHIEVED and objective.performance != Performance.ACHIEVED:
        reason = require_text(
            reason, _("The figures do not show the target as achieved: give the reason for closing it as achieved.")
        )
    before = objective.status
    objective.status = to
    fields = ["status"]
    changes: dict[str, list[Any]] = {"status": [before, to]}
    proposed = objective.action_proposed
    if to == Status.NOT_ACHIEVED:
        proposed = True
    elif to in (Status.ACHIEVED, Status.CANCELLED):
        proposed = False
    if proposed != objective.action_proposed:
        changes["action_proposed"] = [objective.action_proposed, proposed]
        objective.action_proposed = proposed
        fields.append("action_proposed")
    objective.save(update_fields=[*fields, "updated_at"])
    audit.record(
        actor=actor, action=AuditEntry.Action.TRANSITION, obj=objective, changes=changes, reason=(reason or "").strip()
    )
    if to == Status.ACTIVE:
        evaluate(objective)
        if objective.is_computed:
            enqueue_measure(objective.pk, backfill=True)
    return objective


def objective_activate(*, objective_id: int, actor: User, reason: str = "") -> QualityObjective:
    return objective_transition(objective_id=objective_id, to=Status.ACTIVE, actor=actor, reason=reason)


@transaction.atomic
def objective_raise_action(*, objective_id: int, actor: User):
    """Raise a corrective action from an objective that is off track or not achieved, linked both ways.

    The action's source is the objective (its page links back); the objective
    lists the action. Clears the proposal.
    """
    from apps.actions.services import action_raise

    objective = lock(objective_id)
    check_manager(actor, objective)
    if objective.status not in (Status.ACTIVE, Status.NOT_ACHIEVED) or not objective.action_proposed:
        raise BusinessRuleViolation(_("A corrective action is proposed only for objectives off track or not achieved."))
    latest = latest_judged(objective)
    if objective.status == Status.NOT_ACHIEVED:
        headline = _("Quality objective %(ref)s was not achieved: %(title)s")
    elif objective.past_target_notified_at is not None and objective.performance != Performance.OFF_TRACK:
        headline = _("Quality objective %(ref)s reached the end of its target period short of the target: %(title)s")
    else:
        headline = _("Quality objective %(ref)s is off track: %(title)s")
    lines = [headline % {"ref": objective.reference, "title": objective.title}]
    lines.append(
        _("KPI: %(kpi)s. Baseline %(baseline)s on %(bdate)s, target %(target)s by %(tdate)s (%(unit)s).")
        % {
            "kpi": objective.kpi_display,
            "baseline": objective.baseline_value,
            "bdate": objective.baseline_date.isoformat(),
            "target": objective.target_value,
            "tdate": objective.target_date.isoformat(),
            "unit": objective.unit or "-",
        }
    )
    if latest is not None:
        planned = rules.planned(
            baseline=objective.baseline_value,
            baseline_date=objective.baseline_date,
            target=objective.target_value,
            target_date=objective.target_date,
            at=latest.period_end,
        )
        lines.append(
            _("Latest figure: %(value)s for %(start)s to %(end)s, where the plan expected %(planned)s.")
            % {
                "value": latest.value,
                "start": latest.period_start.isoformat(),
                "end": latest.period_end.isoformat(),
                "planned": planned.quantize(Decimal("0.01")),
            }
        )
    action = action_raise(
        source=objective,
        title=_("Objective %(ref)s: %(title)s") % {"ref": objective.reference, "title": objective.title},
        nonconformity="\n".join(lines),
        actor=actor,
        owner=objective.owner if objective.owner.has_perm("actions.change_correctiveaction") else None,
    )
    objective.corrective_actions.add(action)
    objective.action_proposed = False
    objective.save(update_fields=["action_proposed", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        obj=objective,
        changes={"corrective_actions": [None, action.pk], "action_proposed": [True, False]},
    )
    return action
