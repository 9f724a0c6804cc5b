"""Quality objectives (ISO 9001 6.2) and their measurements (9.1.3).

Change rows only through services.py. An objective measures one KPI: a manual
one (figures entered by people) or one computed from the portal's own data
through the analytics KPI catalogue. `status` is the lifecycle people move
along TRANSITIONS; `performance` is computed from the latest measurement
(see rules.py) and never set by hand.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.accounts.roles import Role
from apps.audit.models import AuditedQuerySet
from apps.core.exceptions import InvalidTransition
from apps.core.models import TimeStampedModel

DECIMAL = {"max_digits": 14, "decimal_places": 4}


class ObjectiveStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    ACHIEVED = "achieved", _("Achieved")
    NOT_ACHIEVED = "not_achieved", _("Not achieved")
    CANCELLED = "cancelled", _("Cancelled")


class Performance(models.TextChoices):
    NO_DATA = "no_data", _("No data")
    ACHIEVED = "achieved", _("Achieved")
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    OFF_TRACK = "off_track", _("Off track")


class KpiKind(models.TextChoices):
    MANUAL = "manual", _("Manual (entered measurements)")
    COMPUTED = "computed", _("Computed from the portal's data")


class Period(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")


class MeasurementSource(models.TextChoices):
    MANUAL = "manual", _("Entered")
    COMPUTED = "computed", _("Computed")


def _is_manager(user) -> bool:
    return bool(user.is_superuser or user.has_role(Role.QUALITY_MANAGER))


class QualityObjectiveQuerySet(AuditedQuerySet):
    def visible_to(self, user) -> QualityObjectiveQuerySet:
        """Everyone who may view objectives sees all of them (they are the organisation's, not personal)."""
        if user is None or not user.is_authenticated or not user.has_perm("objectives.view_qualityobjective"):
            return self.none()
        return self

    def active(self) -> QualityObjectiveQuerySet:
        return self.filter(status=ObjectiveStatus.ACTIVE)

    def with_relations(self) -> QualityObjectiveQuerySet:
        return self.select_related("owner", "filter_product", "filter_category")


class QualityObjective(TimeStampedModel):
    """One quality objective (6.2.2). `reference` is OBJ-YYYY-NNNNN.

    Baseline and target define the planned straight-line path; `tolerance`
    (empty = 10 % of |target - baseline|) is how far behind the path still counts
    as "at risk" rather than "off track". `action_proposed` is set when the
    objective turns off track, ends not achieved or is still open when its target
    period is over (`past_target_notified_at`: the owner was told, once), and
    cleared once a corrective action is raised from it.
    """

    Status = ObjectiveStatus

    TRANSITIONS: dict[str, set[str]] = {
        Status.DRAFT: {Status.ACTIVE, Status.CANCELLED},
        Status.ACTIVE: {Status.ACHIEVED, Status.NOT_ACHIEVED, Status.CANCELLED},
        Status.ACHIEVED: set(),
        Status.NOT_ACHIEVED: set(),
        Status.CANCELLED: set(),
    }

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    plan = models.TextField(_("what will be done"))
    resources = models.TextField(_("resources required"), blank=True)
    evaluation = models.TextField(_("how results are evaluated"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="owned_objectives"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)

    kpi_kind = models.CharField(_("KPI type"), max_length=10, choices=KpiKind.choices, default=KpiKind.MANUAL)
    kpi = models.CharField(_("computed KPI"), max_length=40, blank=True)
    kpi_label = models.CharField(
        _("KPI (manual)"), max_length=200, blank=True, help_text=_('For example "average delivery time in days".')
    )
    filter_product = models.ForeignKey(
        "customers.Product",
        verbose_name=_("product filter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    filter_segment = models.CharField(_("segment filter"), max_length=80, blank=True)
    filter_category = models.ForeignKey(
        "complaints.ComplaintCategory",
        verbose_name=_("complaint category filter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    filter_channel = models.CharField(_("channel filter"), max_length=40, blank=True)

    baseline_value = models.DecimalField(_("baseline value"), **DECIMAL)
    baseline_date = models.DateField(_("baseline date"))
    target_value = models.DecimalField(_("target value"), **DECIMAL)
    target_date = models.DateField(_("due date (target date)"))
    higher_is_better = models.BooleanField(_("higher is better"), default=True)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    period = models.CharField(_("measurement period"), max_length=10, choices=Period.choices, default=Period.MONTHLY)
    tolerance = models.DecimalField(
        _("tolerance"),
        null=True,
        blank=True,
        help_text=_("How far behind the planned path still counts as at risk. Empty: 10 % of |target - baseline|."),
        **DECIMAL,
    )

    performance = models.CharField(
        _("performance"), max_length=20, choices=Performance.choices, default=Performance.NO_DATA, db_index=True
    )
    action_proposed = models.BooleanField(_("corrective action proposed"), default=False)
    past_target_notified_at = models.DateTimeField(
        _("owner told the target period is over"), null=True, blank=True, editable=False
    )

    customer_requirements = models.ManyToManyField(
        "requirements.CustomerRequirement", verbose_name=_("customer requirements"), blank=True, related_name="+"
    )
    complaint_categories = models.ManyToManyField(
        "complaints.ComplaintCategory", verbose_name=_("complaint categories"), blank=True, related_name="+"
    )
    products = models.ManyToManyField("customers.Product", verbose_name=_("products"), blank=True, related_name="+")
    corrective_actions = models.ManyToManyField(
        "actions.CorrectiveAction", verbose_name=_("corrective actions"), blank=True, related_name="+"
    )

    objects = QualityObjectiveQuerySet.as_manager()

    class Meta:
        ordering = ["target_date", "id"]
        verbose_name = _("quality objective")
        verbose_name_plural = _("quality objectives")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ObjectiveStatus.values), name="objective_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(performance__in=Performance.values), name="objective_performance_valid"
            ),
            models.CheckConstraint(condition=models.Q(kpi_kind__in=KpiKind.values), name="objective_kpi_kind_valid"),
            models.CheckConstraint(condition=models.Q(period__in=Period.values), name="objective_period_valid"),
            models.CheckConstraint(
                condition=models.Q(target_date__gt=models.F("baseline_date")), name="objective_target_after_baseline"
            ),
            models.CheckConstraint(
                condition=models.Q(tolerance__isnull=True) | models.Q(tolerance__gte=0),
                name="objective_tolerance_not_negative",
            ),
            models.CheckConstraint(
                condition=(models.Q(kpi_kind="computed") & ~models.Q(kpi=""))
                | (models.Q(kpi_kind="manual") & models.Q(kpi="")),
                name="objective_kpi_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def audit_label(self) -> str:
        return f"Quality objective {self.reference}"

    def get_absolute_url(self) -> str:
        return reverse("objectives:objective_detail", args=[self.pk])

    @property
    def is_computed(self) -> bool:
        return self.kpi_kind == KpiKind.COMPUTED

    @property
    def is_final(self) -> bool:
        return not self.TRANSITIONS[self.status]

    @property
    def effective_tolerance(self) -> Decimal:
        if self.tolerance is not None:
            return self.tolerance
        return abs(self.target_value - self.baseline_value) * Decimal("0.1")

    @property
    def kpi_display(self) -> str:
        if not self.is_computed:
            return self.kpi_label
        from apps.objectives import kpi_catalogue

        definition = kpi_catalogue.definition(self.kpi)
        return str(definition.label) if definition else self.kpi

    def can_transition(self, to: str) -> bool:
        return to in self.TRANSITIONS[self.status]

    def check_transition(self, to: str) -> None:
        if not self.can_transition(to):
            raise InvalidTransition(
                _("%(ref)s cannot go from %(from)s to %(to)s.")
                % {"ref": self.reference, "from": self.get_status_display(), "to": ObjectiveStatus(to).label}
            )

    def can_be_changed_by(self, user) -> bool:
        """Only quality managers edit objectives and move them along their lifecycle."""
        return bool(
            user is not None
            and user.is_authenticated
            and user.is_active
            and user.has_perm("objectives.change_qualityobjective")
        )

    def can_record_measurement(self, user) -> bool:
        """Manual figures: the owner (with the permission) or a quality manager, on a manual KPI."""
        if self.is_computed or user is None or not user.is_authenticated or not user.is_active:
            return False
        if not user.has_perm("objectives.add_measurement"):
            return False
        return _is_manager(user) or user.pk == self.owner_id


class MeasurementQuerySet(AuditedQuerySet):
    pass


class Measurement(models.Model):
    """The KPI value of one objective for one period [period_start, period_end] (both days included).

    `value` empty = no data for the period (shown as such, never as 0). One row
    per objective and period: recomputing a period replaces its value.
    """

    objective = models.ForeignKey(
        QualityObjective, verbose_name=_("objective"), on_delete=models.CASCADE, related_name="measurements"
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    value = models.DecimalField(_("value"), null=True, blank=True, **DECIMAL)
    source = models.CharField(_("source"), max_length=10, choices=MeasurementSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded"))
    note = models.TextField(_("note"), blank=True)

    objects = MeasurementQuerySet.as_manager()

    class Meta:
        ordering = ["objective_id", "period_start"]
        verbose_name = _("measurement")
        verbose_name_plural = _("measurements")
        constraints = [
            models.UniqueConstraint(fields=["objective", "period_start"], name="measurement_one_per_period"),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")), name="measurement_period_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=MeasurementSource.values), name="measurement_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.objective_id} {self.period_start}: {self.value}"

    def audit_label(self) -> str:
        return f"Measurement {self.period_start.isoformat()} of objective #{self.objective_id}"


class PerformanceChange(models.Model):
    """A change of an objective's computed performance: one row per change, numbered per objective.

    The owner's notification e-mail is keyed on this row, so a change notifies once.
    """

    objective = models.ForeignKey(
        QualityObjective, verbose_name=_("objective"), on_delete=models.CASCADE, related_name="performance_changes"
    )
    number = models.PositiveIntegerField(_("number"))
    from_performance = models.CharField(_("from"), max_length=20, choices=Performance.choices)
    to_performance = models.CharField(_("to"), max_length=20, choices=Performance.choices)
    measurement = models.ForeignKey(
        Measurement, verbose_name=_("measurement"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed"))

    class Meta:
        ordering = ["objective_id", "number"]
        verbose_name = _("performance change")
        verbose_name_plural = _("performance changes")
        constraints = [
            models.UniqueConstraint(fields=["objective", "number"], name="performance_change_once"),
        ]

    def __str__(self) -> str:
        return f"{self.objective_id}#{self.number}: {self.from_performance} -> {self.to_performance}"
