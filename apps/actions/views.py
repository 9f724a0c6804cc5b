"""Corrective-action pages: thin, every write through apps.actions.services.

Each view declares its model permission (anonymous users are sent to sign in,
signed-in users without it get 403). Views that change one action also apply the
object rule (`CorrectiveAction.can_be_changed_by`); marking a plan item done applies
`ActionPlanItem.can_be_completed_by`; verifying needs `actions.verify_correctiveaction`.
"""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView

from apps.actions import selectors, services, sources
from apps.actions.filters import ActionFilter
from apps.actions.forms import (
    ActionEditForm,
    ActionRaiseForm,
    ImplementForm,
    PlanItemForm,
    ReasonForm,
    ReopenForm,
    VerifyForm,
)
from apps.actions.models import VERIFY_PERMISSION, ActionPlanItem, CorrectiveAction
from apps.audit.selectors import history_for
from apps.core.exceptions import BusinessRuleViolation, InvalidTransition
from apps.core.pagination import KeysetPaginationMixin
from apps.core.views import SERVICE_ERRORS, add_service_error

Status = CorrectiveAction.Status
VIEW_PERMISSION = "actions.view_correctiveaction"
ADD_PERMISSION = "actions.add_correctiveaction"
CHANGE_PERMISSION = "actions.change_correctiveaction"


def _is_manager(user) -> bool:
    return bool(user.is_superuser or user.has_role("quality_manager"))


def hide_source_in_history(history: list, described: sources.SourceView) -> list:
    """The action's history with the source's label and id, recorded when it was raised,
    replaced by the neutral description (copies; the audit entries are not changed)."""
    hidden = []
    for entry in history:
        changes = entry.changes or {}
        if "source" in changes or "source_label" in changes:
            entry = copy.copy(entry)
            entry.changes = {
                **changes,
                **{field: [None, described.label] for field in ("source", "source_label") if field in changes},
            }
        hidden.append(entry)
    return hidden


class ActionListView(PermissionRequiredMixin, KeysetPaginationMixin, FilterView):
    """All corrective actions: filter by status, owner, overdue; search; 25 a page."""

    permission_required = VIEW_PERMISSION
    filterset_class = ActionFilter
    template_name = "actions/action_list.html"
    paginate_by = 25
    keyset_ordering = ("-created_at", "-id")

    def get_queryset(self):
        return selectors.action_list(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        described = sources.describe_many(context["object_list"], self.request.user)
        for action in context["object_list"]:
            action.source_view = described[action.pk]
        return context


class ActionCreateView(PermissionRequiredMixin, FormView):
    """Raise a corrective action by hand (an audit finding, an observation)."""

    permission_required = ADD_PERMISSION
    template_name = "actions/action_form.html"
    form_class = ActionRaiseForm

    def get_initial(self):
        return {"owner": self.request.user.pk}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "heading": _("Raise a corrective action")}

    def form_valid(self, form):
        try:
            action = services.action_raise(source=None, actor=self.request.user, **form.cleaned_data)
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Corrective action %(ref)s raised.") % {"ref": action.reference})
        return redirect(action)


class ActionMixin:
    """Loads the action of the URL (404 when unknown or not visible)."""

    action: CorrectiveAction

    def load_action(self) -> CorrectiveAction:
        self.action = get_object_or_404(
            CorrectiveAction.objects.visible_to(self.request.user).with_relations(), pk=self.kwargs["pk"]
        )
        return self.action

    def back_to_detail(self):
        return redirect("actions:action_detail", pk=self.action.pk)


class ActionDetailView(PermissionRequiredMixin, ActionMixin, TemplateView):
    """Facts, source, plan, the workflow steps this user may take, effectiveness and history."""

    permission_required = VIEW_PERMISSION
    template_name = "actions/action_detail.html"

    def get_context_data(self, **kwargs):
        action = self.load_action()
        user = self.request.user
        items = selectors.plan_items(action)
        can_change = action.can_be_changed_by(user)
        today = timezone.localdate()
        current_items = [item for item in items if item.round == action.round]
        steps = {
            "edit": can_change and not action.is_final,
            "start": can_change and action.status == Status.OPEN,
            "implement": can_change and action.status == Status.IN_PROGRESS,
            "add_item": can_change and action.is_planning,
            "verify": action.status == Status.IMPLEMENTED and action.can_be_verified_by(user),
            "reopen": can_change and action.status == Status.NOT_EFFECTIVE,
        }
        for item in items:
            item.may_complete = (
                not item.is_done
                and item.round == action.round
                and action.is_planning
                and item.can_be_completed_by(user)
            )
            item.overdue = item.is_overdue(today) and item.round == action.round and action.is_planning
        described = sources.describe(action, user)
        # A source the user may not see is named by its kind only: no link, no effectiveness
        # figures (they name its category and product), no label in the history.
        source = action.source if described is not None and described.visible else None
        history = history_for(action)
        if described is not None and not described.visible:
            history = hide_source_in_history(history, described)
        return {
            **super().get_context_data(**kwargs),
            "action": action,
            "items": items,
            "current_items": current_items,
            "steps": steps,
            "any_step": any(steps.values()),
            "any_item_step": any(item.may_complete for item in items),
            "verify_blocked_owner": action.status == Status.IMPLEMENTED
            and user.has_perm(VERIFY_PERMISSION)
            and user.pk == action.owner_id,
            "verify_not_yet": action.effectiveness_check_date is not None and today < action.effectiveness_check_date,
            "source": source,
            "source_view": described,
            "source_url": sources.source_url(source),
            "effectiveness": sources.effectiveness_for(action) if source is not None else None,
            "history": history,
            "implement_form": ImplementForm(initial={"effectiveness_check_date": action.effectiveness_check_date}),
            "plan_item_form": PlanItemForm(initial={"owner": action.owner_id}, auto_id="id_item_%s"),
            "verify_form": VerifyForm(auto_id="id_verify_%s"),
            "reopen_form": ReopenForm(auto_id="id_reopen_%s"),
            "start_form": ReasonForm(auto_id="id_start_%s"),
        }


class ChangeActionMixin(PermissionRequiredMixin, ActionMixin):
    """For views that change one action: the change permission plus the object rule."""

    permission_required = CHANGE_PERMISSION

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.has_permission():
            raise PermissionDenied
        self.load_action()
        if not self.allowed(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def allowed(self, user) -> bool:
        return self.action.can_be_changed_by(user)


class ActionUpdateView(ChangeActionMixin, FormView):
    template_name = "actions/action_form.html"
    form_class = ActionEditForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "may_reassign": _is_manager(self.request.user)}

    def get_initial(self):
        return ActionEditForm.initial_for(self.action)

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "action": self.action,
            "heading": _("Edit %(ref)s") % {"ref": self.action.reference},
        }

    def form_valid(self, form):
        try:
            services.action_update(
                action_id=self.action.pk,
                actor=self.request.user,
                reason=form.cleaned_data["reason"],
                **form.service_data(),
            )
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved."))
        return self.back_to_detail()


class StepView(ActionMixin, FormView):
    """A workflow step posted from the detail page; GET or a refused step shows the form on its own page."""

    template_name = "actions/action_step_form.html"
    heading = ""
    submit_label = ""
    success_message = ""

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "action": self.action,
            "heading": self.heading,
            "submit_label": self.submit_label,
        }

    def perform(self, data: dict):
        raise NotImplementedError

    def form_valid(self, form):
        try:
            self.perform(form.cleaned_data)
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, str(self.success_message))
        return self.back_to_detail()


class ActionStartView(ChangeActionMixin, StepView):
    form_class = ReasonForm
    heading = gettext_lazy("Start work")
    submit_label = gettext_lazy("Start work")
    success_message = gettext_lazy("Work started.")

    def perform(self, data: dict):
        return services.action_start(action_id=self.action.pk, actor=self.request.user, reason=data["reason"])


class ActionImplementView(ChangeActionMixin, StepView):
    form_class = ImplementForm
    heading = gettext_lazy("Declare implemented")
    submit_label = gettext_lazy("Declare implemented")
    success_message = gettext_lazy("Action implemented; its effectiveness will be checked on the date set.")

    def perform(self, data: dict):
        return services.action_implement(action_id=self.action.pk, actor=self.request.user, **data)


class ActionReopenView(ChangeActionMixin, StepView):
    form_class = ReopenForm
    heading = gettext_lazy("Reopen with a new plan round")
    submit_label = gettext_lazy("Reopen")
    success_message = gettext_lazy("Action reopened: plan the next round.")

    def perform(self, data: dict):
        return services.action_reopen(action_id=self.action.pk, actor=self.request.user, reason=data["reason"])


class ActionVerifyView(PermissionRequiredMixin, StepView):
    """The effectiveness check; holders of the verify permission who do not own the action."""

    permission_required = VERIFY_PERMISSION
    form_class = VerifyForm
    heading = gettext_lazy("Verify effectiveness")
    submit_label = gettext_lazy("Record verification")
    success_message = gettext_lazy("Verification recorded.")

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and self.has_permission():
            self.load_action()
            if request.user.pk == self.action.owner_id:
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def perform(self, data: dict):
        return services.action_verify(action_id=self.action.pk, actor=self.request.user, **data)


class PlanItemAddView(ChangeActionMixin, StepView):
    form_class = PlanItemForm
    heading = gettext_lazy("Add a plan item")
    submit_label = gettext_lazy("Add plan item")
    success_message = gettext_lazy("Plan item added.")

    def get_initial(self):
        return {"owner": self.action.owner_id}

    def perform(self, data: dict):
        return services.plan_item_add(action_id=self.action.pk, actor=self.request.user, **data)


class PlanItemDoneView(PermissionRequiredMixin, ActionMixin, View):
    """POST only: mark one plan item done (staff only their own items)."""

    permission_required = CHANGE_PERMISSION
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        self.load_action()
        item = get_object_or_404(ActionPlanItem, pk=self.kwargs["item_pk"], action=self.action)
        if not item.can_be_completed_by(request.user):
            raise PermissionDenied
        try:
            services.plan_item_complete(item_id=item.pk, actor=request.user)
        except (InvalidTransition, BusinessRuleViolation) as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Plan item marked done."))
        return self.back_to_detail()
