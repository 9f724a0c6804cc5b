from django import forms
from django.utils.translation import gettext_lazy as _

from apps.actions.selectors import owner_candidates
from apps.complaints.models import ComplaintCategory
from apps.core import dates
from apps.customers.models import Product
from apps.objectives import kpi_catalogue
from apps.objectives.models import QualityObjective
from apps.requirements.models import CustomerRequirement

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DIRECTION_CHOICES = [("higher", _("Higher is better")), ("lower", _("Lower is better"))]
FILTER_LABELS = {
    "product": _("product"),
    "segment": _("segment"),
    "category": _("complaint category"),
    "channel": _("channel"),
}


def _model_field(name: str, **kwargs) -> forms.Field:
    return QualityObjective._meta.get_field(name).formfield(**kwargs)


def channel_choices() -> list:
    return [("", "—"), *kpi_catalogue.channel_groups()]


class ObjectiveForm(forms.Form):
    """Create or edit an objective. Filters a computed KPI does not support must stay empty."""

    title = _model_field("title")
    plan = _model_field("plan", widget=forms.Textarea(attrs={"rows": 3}))
    resources = _model_field("resources", widget=forms.Textarea(attrs={"rows": 2}))
    evaluation = _model_field("evaluation", widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.ModelChoiceField(queryset=owner_candidates(), label=_("Owner"))
    kpi_kind = _model_field("kpi_kind", widget=forms.RadioSelect)
    kpi = forms.ChoiceField(label=_("Computed KPI"), required=False)
    kpi_label = _model_field("kpi_label")
    filter_product = forms.ModelChoiceField(
        label=_("Product filter"), queryset=Product.objects.order_by("name"), required=False
    )
    filter_segment = _model_field("filter_segment")
    filter_category = forms.ModelChoiceField(
        label=_("Complaint category filter"), queryset=ComplaintCategory.objects.order_by("name"), required=False
    )
    filter_channel = forms.ChoiceField(label=_("Channel filter"), required=False)
    baseline_value = _model_field("baseline_value")
    baseline_date = _model_field("baseline_date", form_class=dates.DateField, widget=DATE_WIDGET)
    target_value = _model_field("target_value")
    target_date = _model_field("target_date", form_class=dates.DateField, widget=DATE_WIDGET)
    direction = forms.ChoiceField(label=_("Direction"), choices=DIRECTION_CHOICES, widget=forms.RadioSelect)
    unit = _model_field("unit")
    period = _model_field("period")
    tolerance = _model_field("tolerance")
    customer_requirements = forms.ModelMultipleChoiceField(
        label=_("Customer requirements"), queryset=CustomerRequirement.objects.order_by("title", "id"), required=False
    )
    complaint_categories = forms.ModelMultipleChoiceField(
        label=_("Complaint categories"), queryset=ComplaintCategory.objects.order_by("name"), required=False
    )
    products = forms.ModelMultipleChoiceField(
        label=_("Products"), queryset=Product.objects.order_by("name"), required=False
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the audit trail."),
    )

    def __init__(self, *args, editing: QualityObjective | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.fields["kpi"].choices = [("", "—"), *kpi_catalogue.choices()]
        self.fields["kpi"].help_text = self.kpi_help()
        self.fields["filter_channel"].choices = channel_choices()
        if editing is None:
            del self.fields["reason"]
            return
        is_draft = editing.status == QualityObjective.Status.DRAFT
        if not is_draft or editing.measurements.exists():
            # What is measured is fixed once active or measured (services.FROZEN_FIELDS).
            for name in ("kpi_kind", "kpi", "baseline_value", "baseline_date", "period"):
                self.fields[name].disabled = True
        if not is_draft:
            # only the filters its KPI supports are offered
            supported = kpi_catalogue.supported_filters(editing.kpi) if editing.is_computed else frozenset()
            for name, field in kpi_catalogue.FILTER_FIELDS.items():
                if name not in supported:
                    del self.fields[field]

    @staticmethod
    def kpi_help() -> str:
        lines = []
        for definition in kpi_catalogue.definitions().values():
            names = ", ".join(str(FILTER_LABELS[name]) for name in sorted(definition.filters)) or "—"
            lines.append(f"{definition.label}: {names}")
        return str(_("Filters each KPI supports: %(list)s.")) % {"list": "; ".join(lines)}

    def clean(self):
        data = super().clean()
        if data.get("kpi_kind") == "computed":
            if not data.get("kpi"):
                self.add_error("kpi", _("Choose a KPI from the catalogue."))
            else:
                supported = kpi_catalogue.supported_filters(data["kpi"])
                for name, field in kpi_catalogue.FILTER_FIELDS.items():
                    if data.get(field) and name not in supported:
                        self.add_error(field, _("The chosen KPI cannot be filtered by this."))
                channel = data.get("filter_channel")
                if channel and "channel" in supported and not kpi_catalogue.channel_fits(data["kpi"], channel):
                    self.add_error(
                        "filter_channel",
                        _("This KPI counts %(source)s: choose one of their channels.")
                        % {"source": _("feedback") if data["kpi"] in kpi_catalogue.FEEDBACK_KPIS else _("complaints")},
                    )
        elif data.get("kpi_kind") == "manual":
            if not (data.get("kpi_label") or "").strip():
                self.add_error("kpi_label", _("Name the manual KPI."))
            for field in kpi_catalogue.FILTER_FIELDS.values():
                if data.get(field):
                    self.add_error(field, _("Filters apply only to computed KPIs."))
        self._require_reason(data)
        return data

    def _require_reason(self, data: dict) -> None:
        """Moving the goalposts of an active objective is recorded with its reason."""
        editing = self.editing
        if editing is None or editing.status != QualityObjective.Status.ACTIVE or (data.get("reason") or "").strip():
            return
        changed = [
            data.get("target_value") is not None and data["target_value"] != editing.target_value,
            data.get("target_date") is not None and data["target_date"] != editing.target_date,
            "direction" in data and (data["direction"] == "higher") != editing.higher_is_better,
            "tolerance" in data and data["tolerance"] != editing.tolerance,
        ]
        if any(changed):
            self.add_error("reason", _("Give the reason for changing the target, the direction or the tolerance."))

    @staticmethod
    def initial_for(objective: QualityObjective) -> dict:
        names = [
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
            "unit",
            "period",
            "tolerance",
        ]
        initial = {name: getattr(objective, name) for name in names}
        initial["direction"] = "higher" if objective.higher_is_better else "lower"
        for name in ("customer_requirements", "complaint_categories", "products"):
            initial[name] = list(getattr(objective, name).values_list("pk", flat=True))
        return initial

    def service_data(self) -> dict:
        data = {name: value for name, value in self.cleaned_data.items() if name not in ("reason", "direction")}
        data["higher_is_better"] = self.cleaned_data["direction"] == "higher"
        return data


class MeasurementForm(forms.Form):
    period_start = dates.DateField(
        label=_("Period"), widget=DATE_WIDGET, help_text=_("Any day of the period; the whole period is recorded.")
    )
    value = forms.DecimalField(
        label=_("Value"), max_digits=14, decimal_places=4, required=False, help_text=_("Empty: no data for the period.")
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
