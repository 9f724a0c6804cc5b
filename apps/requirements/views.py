"""Requirement pages: thin, every write through apps.requirements.services.

Each view declares its model permission (anonymous users are sent to sign in,
signed-in users without it get 403); views that change one requirement also apply
the object rule (`CustomerRequirement.can_be_changed_by`), and the review views
require `requirements.review_customerrequirement`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, ListView, TemplateView
from django_filters.views import FilterView

from apps.audit.selectors import history_for
from apps.core.exceptions import BusinessRuleViolation, InvalidTransition
from apps.core.pagination import KeysetPaginationMixin
from apps.core.views import SERVICE_ERRORS, add_service_error
from apps.requirements import selectors, services
from apps.requirements.filters import RequirementListFilter
from apps.requirements.forms import (
    RequestChangeForm,
    RequirementCreateForm,
    RequirementEditForm,
    ReviewForm,
    WithdrawForm,
)
from apps.requirements.models import (
    REVIEW_PERMISSION,
    CustomerRequirement,
    RequirementPriority,
    RequirementVersion,
    review_due_days,
)

Status = CustomerRequirement.Status
VIEW_PERMISSION = "requirements.view_customerrequirement"
CHANGE_PERMISSION = "requirements.change_customerrequirement"


class RequirementListView(PermissionRequiredMixin, KeysetPaginationMixin, FilterView):
    """All requirements: filter by customer, product, type, status, owner; search; sort."""

    permission_required = VIEW_PERMISSION
    filterset_class = RequirementListFilter
    template_name = "requirements/requirement_list.html"
    paginate_by = 25
    keyset_ordering = ("-created_at", "-id")

    def get_queryset(self):
        return selectors.visible_requirements(self.request.user)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "review_due_days": review_due_days()}


class ReviewQueueView(PermissionRequiredMixin, KeysetPaginationMixin, ListView):
    """Requirements waiting for review, longest waiting first; overdue ones highlighted."""

    permission_required = REVIEW_PERMISSION
    template_name = "requirements/review_queue.html"
    paginate_by = 25
    keyset_ordering = ("submitted_at", "id")

    def get_queryset(self):
        return selectors.awaiting_review()

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "review_due_days": review_due_days()}


class RequirementCreateView(PermissionRequiredMixin, FormView):
    permission_required = "requirements.add_customerrequirement"
    template_name = "requirements/requirement_form.html"
    form_class = RequirementCreateForm

    def get_initial(self):
        initial = {"owner": self.request.user.pk, "priority": RequirementPriority.MEDIUM}
        customer = self.request.GET.get("customer", "")
        if customer.isdigit():
            initial["customer"] = int(customer)
        return initial

    def form_valid(self, form):
        try:
            requirement = services.requirement_create(
                actor=self.request.user, customer=form.cleaned_data["customer"], **form.service_data()
            )
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Requirement %(ref)s recorded as a draft.") % {"ref": requirement.reference})
        return redirect("requirements:requirement_detail", pk=requirement.pk)


class RequirementMixin:
    """Loads the requirement of the URL (404 when unknown or not visible)."""

    requirement: CustomerRequirement

    def load_requirement(self) -> CustomerRequirement:
        self.requirement = get_object_or_404(selectors.visible_requirements(self.request.user), pk=self.kwargs["pk"])
        return self.requirement

    def back_to_detail(self):
        return redirect("requirements:requirement_detail", pk=self.requirement.pk)


class RequirementDetailView(PermissionRequiredMixin, RequirementMixin, TemplateView):
    """Facts, status, the actions this user may take, versions and their diff, reviews, changes, history."""

    permission_required = VIEW_PERMISSION
    template_name = "requirements/requirement_detail.html"

    def get_context_data(self, **kwargs):
        requirement = self.load_requirement()
        user = self.request.user
        versions = selectors.versions_of(requirement)
        reviews = selectors.reviews_of(requirement)
        can_change = requirement.can_be_changed_by(user)
        may_review = user.has_perm(REVIEW_PERMISSION) and requirement.status == Status.IN_REVIEW
        current = next((v for v in versions if v.number == requirement.version), None)
        review_blocked = (
            may_review
            and current is not None
            and services.four_eyes_conflict(requirement=requirement, version=current, user=user)
        )
        actions = {
            "edit": can_change and requirement.is_editable,
            "submit": can_change and requirement.can_transition(Status.IN_REVIEW),
            "review": may_review and not review_blocked,
            "request_change": can_change and requirement.can_transition(Status.CHANGE_REQUESTED),
            "rework": can_change and requirement.can_transition(Status.DRAFT),
            "withdraw": can_change and requirement.can_transition(Status.WITHDRAWN),
        }
        return {
            **super().get_context_data(**kwargs),
            "requirement": requirement,
            "versions": versions,
            "reviews": reviews,
            "change_requests": selectors.change_requests_of(requirement),
            "history": history_for(requirement),
            "actions": actions,
            "any_action": any(actions.values()),
            "review_blocked": review_blocked,
            "review_due_days": review_due_days(),
            **self._diff(versions),
        }

    def _diff(self, versions: list[RequirementVersion]) -> dict:
        if len(versions) < 2:
            return {}
        by_number = {version.number: version for version in versions}
        numbers = sorted(by_number)
        older, newer = self._number("from", numbers[-2]), self._number("to", numbers[-1])
        if older not in by_number or newer not in by_number:
            return {"diff_error": _("Choose two versions of this requirement."), "diff_from": None, "diff_to": None}
        return {
            "diff_from": by_number[older],
            "diff_to": by_number[newer],
            "diff": selectors.version_diff(by_number[older], by_number[newer]),
        }

    def _number(self, name: str, default: int) -> int | None:
        value = self.request.GET.get(name)
        if value is None or value == "":
            return default
        return int(value) if value.isdigit() else None


class RequirementVersionView(PermissionRequiredMixin, RequirementMixin, TemplateView):
    """One version's content as it stood (earlier versions stay readable)."""

    permission_required = VIEW_PERMISSION
    template_name = "requirements/version_detail.html"

    def get_context_data(self, **kwargs):
        requirement = self.load_requirement()
        version = get_object_or_404(
            RequirementVersion.objects.select_related("created_by", "product", "change_request"),
            requirement=requirement,
            number=self.kwargs["number"],
        )
        return {
            **super().get_context_data(**kwargs),
            "requirement": requirement,
            "version": version,
            "contributors": list(version.contributors.order_by("full_name", "id")),
            "reviews": [review for review in selectors.reviews_of(requirement) if review.version_id == version.pk],
        }


class ChangeRequirementMixin(PermissionRequiredMixin, RequirementMixin):
    """For views that change one requirement: the change permission plus the object rule."""

    permission_required = CHANGE_PERMISSION

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.has_permission():
            raise PermissionDenied
        self.load_requirement()
        if not self.requirement.can_be_changed_by(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class RequirementUpdateView(ChangeRequirementMixin, FormView):
    template_name = "requirements/requirement_form.html"
    form_class = RequirementEditForm

    def get(self, request, *args, **kwargs):
        if not self.requirement.is_editable:
            return self._not_editable()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if not self.requirement.is_editable:
            return self._not_editable()
        return super().post(request, *args, **kwargs)

    def _not_editable(self):
        messages.error(
            self.request,
            _("Only drafts and requirements with a requested change can be edited; request a change first."),
        )
        return self.back_to_detail()

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "requirement": self.requirement}

    def get_initial(self):
        return RequirementEditForm.initial_for(self.requirement)

    def get_context_data(self, **kwargs):
        reviewed = RequirementVersion.objects.filter(
            requirement=self.requirement, number=self.requirement.version, reviews__isnull=False
        ).exists()
        return {**super().get_context_data(**kwargs), "requirement": self.requirement, "starts_new_version": reviewed}

    def form_valid(self, form):
        try:
            requirement = services.requirement_update(
                requirement_id=self.requirement.pk,
                actor=self.request.user,
                reason=form.cleaned_data["reason"],
                **form.service_data(),
            )
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved as version %(n)s.") % {"n": requirement.version})
        return redirect("requirements:requirement_detail", pk=requirement.pk)


class TransitionButtonView(ChangeRequirementMixin, View):
    """A POST-only workflow step without input (submit, rework)."""

    http_method_names = ["post"]
    success_message = ""

    def perform(self) -> None:
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        try:
            self.perform()
        except (InvalidTransition, BusinessRuleViolation) as error:
            messages.error(request, str(error))
        else:
            messages.success(request, str(self.success_message))
        return self.back_to_detail()


class RequirementSubmitView(TransitionButtonView):
    success_message = gettext_lazy("Submitted for review.")

    def perform(self) -> None:
        services.requirement_submit(requirement_id=self.requirement.pk, actor=self.request.user)


class RequirementReworkView(TransitionButtonView):
    success_message = gettext_lazy("Back to draft for rework.")

    def perform(self) -> None:
        services.requirement_rework(requirement_id=self.requirement.pk, actor=self.request.user)


class ActionFormView(RequirementMixin, FormView):
    """A workflow step with a form of its own page (review, request change, withdraw)."""

    template_name = "requirements/requirement_action_form.html"
    heading = ""
    explanation = ""
    submit_label = ""
    submit_class = "btn-primary"
    success_message = ""

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "requirement": self.requirement,
            "heading": self.heading,
            "explanation": self.explanation,
            "submit_label": self.submit_label,
            "submit_class": self.submit_class,
        }

    def perform(self, data: dict) -> None:
        raise NotImplementedError

    def form_valid(self, form):
        try:
            self.perform(form.cleaned_data)
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, str(self.success_message))
        return self.back_to_detail()


class RequirementReviewView(PermissionRequiredMixin, ActionFormView):
    """The review before commitment (8.2.3); only holders of the review permission."""

    permission_required = REVIEW_PERMISSION
    form_class = ReviewForm
    heading = gettext_lazy("Review requirement")
    explanation = gettext_lazy(
        "Decide whether the organisation commits to this requirement. Accept only what it can meet; "
        "record any conditions or differences resolved with the customer."
    )
    submit_label = gettext_lazy("Record review")
    success_message = gettext_lazy("Review recorded.")

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and self.has_permission():
            self.load_requirement()
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        if self.requirement.status != Status.IN_REVIEW:
            messages.error(request, _("This requirement is not waiting for review."))
            return self.back_to_detail()
        return super().get(request, *args, **kwargs)

    def perform(self, data: dict) -> None:
        services.requirement_review(requirement_id=self.requirement.pk, actor=self.request.user, **data)


class RequirementRequestChangeView(ChangeRequirementMixin, ActionFormView):
    """Open a change to an accepted requirement (8.2.4)."""

    form_class = RequestChangeForm
    heading = gettext_lazy("Request a change")
    explanation = gettext_lazy(
        "The requirement becomes editable again; the next edit starts a new version, which needs a new review."
    )
    submit_label = gettext_lazy("Request change")
    success_message = gettext_lazy("Change requested; edit the requirement to write the new version.")

    def get(self, request, *args, **kwargs):
        if not self.requirement.can_transition(Status.CHANGE_REQUESTED):
            messages.error(request, _("Only an accepted requirement can be changed this way."))
            return self.back_to_detail()
        return super().get(request, *args, **kwargs)

    def perform(self, data: dict) -> None:
        services.requirement_request_change(requirement_id=self.requirement.pk, actor=self.request.user, **data)


class RequirementWithdrawView(ChangeRequirementMixin, ActionFormView):
    form_class = WithdrawForm
    heading = gettext_lazy("Withdraw requirement")
    explanation = gettext_lazy("Withdrawing is final: a withdrawn requirement cannot be reopened.")
    submit_label = gettext_lazy("Withdraw")
    submit_class = "btn-danger"
    success_message = gettext_lazy("Requirement withdrawn.")

    def get(self, request, *args, **kwargs):
        if not self.requirement.can_transition(Status.WITHDRAWN):
            messages.error(request, _("This requirement is already withdrawn."))
            return self.back_to_detail()
        return super().get(request, *args, **kwargs)

    def perform(self, data: dict) -> None:
        services.requirement_withdraw(requirement_id=self.requirement.pk, actor=self.request.user, **data)
