"""Quality-objective pages: thin, every write through apps.objectives.services.

Each view declares its model permission (anonymous users are sent to sign in,
signed-in users without it get 403). Editing, lifecycle steps, recomputing and
raising a corrective action are for quality managers; entering a manual figure
also for the objective's owner (`QualityObjective.can_record_measurement`).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView

from apps.audit.selectors import history_for
from apps.core.views import SERVICE_ERRORS, add_service_error
from apps.objectives import charts, kpi_catalogue, selectors, services
from apps.objectives.filters import ObjectiveFilter
from apps.objectives.forms import MeasurementForm, ObjectiveForm, ReasonForm
from apps.objectives.models import Performance, QualityObjective

Status = QualityObjective.Status
VIEW_PERMISSION = "objectives.view_qualityobjective"
ADD_PERMISSION = "objectives.add_qualityobjective"
CHANGE_PERMISSION = "objectives.change_qualityobjective"
STEPS = {
    "activate": (Status.ACTIVE, gettext_lazy("Activate")),
    "achieved": (Status.ACHIEVED, gettext_lazy("Close as achieved")),
    "not_achieved": (Status.NOT_ACHIEVED, gettext_lazy("Close as not achieved")),
    "cancel": (Status.CANCELLED, gettext_lazy("Cancel")),
}

REASON_STEPS = ("not_achieved", "cancel")


def _needs_reason(objective: QualityObjective, step: str) -> bool:
    """Closing as achieved while the figures do not show it needs a reason, like the other closing steps."""
    return step in REASON_STEPS or (step == "achieved" and objective.performance != Performance.ACHIEVED)


class ObjectiveListView(PermissionRequiredMixin, FilterView):
    """All objectives: filter by status, performance, owner; 25 a page."""

    permission_required = VIEW_PERMISSION
    filterset_class = ObjectiveFilter
    template_name = "objectives/objective_list.html"
    paginate_by = 25

    def get_queryset(self):
        return selectors.objective_list(user=self.request.user)


class ObjectiveMixin:
    objective: QualityObjective

    def load_objective(self) -> QualityObjective:
        self.objective = get_object_or_404(
            QualityObjective.objects.visible_to(self.request.user).with_relations(), pk=self.kwargs["pk"]
        )
        return self.objective


class ObjectiveDetailView(PermissionRequiredMixin, ObjectiveMixin, TemplateView):
    """Facts, the rule, the progress chart, measurements, links, steps and history."""

    permission_required = VIEW_PERMISSION
    template_name = "objectives/objective_detail.html"

    def get_context_data(self, **kwargs):
        objective = self.load_objective()
        user = self.request.user
        can_change = objective.can_be_changed_by(user)
        rows = selectors.measurements(objective)
        steps = {name: can_change and objective.can_transition(to) for name, (to, _label) in STEPS.items()}
        definition = kpi_catalogue.definition(objective.kpi) if objective.is_computed else None
        return {
            **super().get_context_data(**kwargs),
            "objective": objective,
            "kpi_definition": definition,
            "measurements": rows,
            "performance_label": selectors.performance_label(
                objective, has_figure=any(row.value is not None for row in rows)
            ),
            "chart": charts.progress_chart(objective, rows),
            "steps": [
                (name, STEPS[name][1], ReasonForm(auto_id=f"id_{name}_%s") if _needs_reason(objective, name) else None)
                for name, allowed in steps.items()
                if allowed
            ],
            "can_edit": can_change and not objective.is_final,
            "can_record": objective.can_record_measurement(user) and objective.status in (Status.DRAFT, Status.ACTIVE),
            "can_recompute": can_change and objective.is_computed and objective.status == Status.ACTIVE,
            "can_raise_action": can_change
            and objective.action_proposed
            and objective.status in (Status.ACTIVE, Status.NOT_ACHIEVED),
            "today": timezone.localdate(),
            "measurement_form": MeasurementForm(initial={"period_start": timezone.localdate()}),
            "links": selectors.links(objective),
            "history": history_for(objective),
        }


class ManagerMixin(PermissionRequiredMixin):
    """The change permission, then the object (404 when not visible)."""

    permission_required = CHANGE_PERMISSION

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.has_permission():
            raise PermissionDenied
        self.load_objective()
        return super().dispatch(request, *args, **kwargs)


class ObjectiveCreateView(PermissionRequiredMixin, FormView):
    permission_required = ADD_PERMISSION
    template_name = "objectives/objective_form.html"
    form_class = ObjectiveForm

    def get_initial(self):
        return {"owner": self.request.user.pk, "kpi_kind": "manual", "direction": "higher", "period": "monthly"}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "heading": _("New quality objective")}

    def form_valid(self, form):
        try:
            objective = services.objective_create(actor=self.request.user, **form.service_data())
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Objective %(ref)s created.") % {"ref": objective.reference})
        return redirect(objective)


class ObjectiveUpdateView(ManagerMixin, ObjectiveMixin, FormView):
    template_name = "objectives/objective_form.html"
    form_class = ObjectiveForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "editing": self.objective}

    def get_initial(self):
        return ObjectiveForm.initial_for(self.objective)

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "objective": self.objective,
            "heading": _("Edit %(ref)s") % {"ref": self.objective.reference},
        }

    def form_valid(self, form):
        try:
            services.objective_update(
                objective_id=self.objective.pk,
                actor=self.request.user,
                reason=form.cleaned_data.get("reason", ""),
                **form.service_data(),
            )
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved."))
        return redirect(self.objective)


class ObjectiveTransitionView(ManagerMixin, ObjectiveMixin, View):
    """POST only: one lifecycle step from the detail page; a refused step comes back as a message."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        step = STEPS.get(self.kwargs["step"])
        if step is None:
            raise Http404
        form = ReasonForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(self.objective)
        try:
            services.objective_transition(
                objective_id=self.objective.pk,
                to=step[0],
                actor=request.user,
                reason=form.cleaned_data.get("reason", ""),
            )
        except SERVICE_ERRORS as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Objective is now %(status)s.") % {"status": Status(step[0]).label})
        return redirect(self.objective)


class RecomputeView(ManagerMixin, ObjectiveMixin, View):
    """POST only: queue the computation of every period from the baseline's to today's (the latest 60)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            services.objective_request_recompute(objective_id=self.objective.pk, actor=request.user)
        except SERVICE_ERRORS as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Recomputing; reload the page in a moment."))
        return redirect(self.objective)


class RaiseActionView(ManagerMixin, ObjectiveMixin, View):
    """POST only: raise the proposed corrective action, pre-filled from the objective."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            action = services.objective_raise_action(objective_id=self.objective.pk, actor=request.user)
        except SERVICE_ERRORS as error:
            messages.error(request, str(error))
            return redirect(self.objective)
        messages.success(request, _("Corrective action %(ref)s raised.") % {"ref": action.reference})
        return redirect(action)


class MeasurementCreateView(PermissionRequiredMixin, ObjectiveMixin, FormView):
    """Enter a manual figure: the owner or a quality manager."""

    permission_required = "objectives.add_measurement"
    template_name = "objectives/measurement_form.html"
    form_class = MeasurementForm

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.has_permission():
            raise PermissionDenied
        self.load_objective()
        if not self.objective.can_record_measurement(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {"period_start": timezone.localdate()}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "objective": self.objective}

    def form_valid(self, form):
        try:
            services.measurement_record(objective_id=self.objective.pk, actor=self.request.user, **form.cleaned_data)
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Measurement recorded."))
        return redirect(self.objective)
