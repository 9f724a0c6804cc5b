"""Management-review pages: thin, every write through apps.reviews.services.

Reading needs the view permission (quality managers and auditors); everything that changes a
review or its schedule is for quality managers (change permission, then the services' role
check). Anonymous users are sent to sign in; signed-in users without the permission get 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, ListView, TemplateView

from apps.audit.selectors import history_for
from apps.core.views import SERVICE_ERRORS, add_service_error
from apps.reviews import report as rendering
from apps.reviews import services
from apps.reviews.forms import DecisionForm, HoldForm, ReviewForm, ScheduleForm
from apps.reviews.models import (
    CHANGE_PERMISSION,
    VIEW_PERMISSION,
    ManagementReview,
    ReviewJob,
    ReviewReport,
    ReviewSchedule,
    ReviewStatus,
    is_manager,
)

SCHEDULE_VIEW = "reviews.view_reviewschedule"
SCHEDULE_CHANGE = "reviews.change_reviewschedule"


class ReviewListView(PermissionRequiredMixin, ListView):
    """Every review, newest period first, with its latest report version; 25 a page."""

    permission_required = VIEW_PERMISSION
    template_name = "reviews/review_list.html"
    paginate_by = 25
    context_object_name = "reviews"

    def get_queryset(self):
        return (
            ManagementReview.objects.visible_to(self.request.user)
            .with_relations()
            .annotate(latest_version=Max("reports__version"), decision_count=Count("decisions", distinct=True))
            .order_by("-period_start", "-id")
        )

    def get_context_data(self, **kwargs):
        user = self.request.user
        return {
            **super().get_context_data(**kwargs),
            "can_create": user.has_perm("reviews.add_managementreview") and is_manager(user),
            "can_see_schedules": user.has_perm(SCHEDULE_VIEW),
        }


def warn_about_overlaps(request, review: ManagementReview) -> None:
    """A warning, not a refusal: overlapping periods have their uses (a half-year review after a
    quarterly one), but the figures of the shared days then appear in both reports."""
    others = services.overlapping_reviews(
        period_start=review.period_start, period_end=review.period_end, exclude_id=review.pk
    )
    if others:
        listed = ", ".join(
            f"{other.reference} ({other.period_start:%Y-%m-%d} \N{EN DASH} {other.period_end:%Y-%m-%d})"
            for other in others
        )
        messages.warning(
            request,
            _("The period of %(ref)s overlaps %(reviews)s: figures of the shared days appear in both reports.")
            % {"ref": review.reference, "reviews": listed},
        )


class ReviewMixin:
    review: ManagementReview

    def load_review(self) -> ManagementReview:
        self.review = get_object_or_404(
            ManagementReview.objects.visible_to(self.request.user).with_relations(), pk=self.kwargs["pk"]
        )
        return self.review


class ManagerMixin(PermissionRequiredMixin, ReviewMixin):
    """The change permission and the quality-manager role, then the review (404 when not visible)."""

    permission_required = CHANGE_PERMISSION

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not (self.has_permission() and is_manager(request.user)):
            raise PermissionDenied
        self.load_review()
        return super().dispatch(request, *args, **kwargs)


class ReviewDetailView(PermissionRequiredMixin, ReviewMixin, TemplateView):
    """Facts, the next steps, the 9.3.2 texts, decisions, report versions, jobs and history."""

    permission_required = VIEW_PERMISSION
    template_name = "reviews/review_detail.html"

    def get_context_data(self, **kwargs):
        review = self.load_review()
        can_change = review.can_be_changed_by(self.request.user)
        job = review.jobs.order_by("-created_at", "-id").first()
        busy = job is not None and job.status in ReviewJob.ACTIVE
        has_inputs = review.snapshots.exists()
        decisions = review.decisions.select_related("action", "action__owner", "created_by")
        context = {
            **super().get_context_data(**kwargs),
            "review": review,
            "job": job,
            "busy": busy,
            "has_inputs": has_inputs,
            "reports": review.reports.select_related("generated_by", "snapshot").order_by("-version"),
            "decisions": decisions,
            "sections": review.manual_sections(),
            "history": history_for(review),
            "can_edit": can_change and review.manual_sections_editable,
            "can_compile": can_change and not busy and review.status in (ReviewStatus.PLANNED, ReviewStatus.COMPILED),
            "can_regenerate": can_change and not busy and has_inputs and review.status != ReviewStatus.CLOSED,
            "can_decide": can_change and review.decisions_editable,
            "can_hold": can_change and not busy and review.status == ReviewStatus.COMPILED,
            "can_close": can_change and review.status == ReviewStatus.HELD,
        }
        if context["can_decide"]:
            context["decision_form"] = kwargs.get("decision_form") or DecisionForm()
        if context["can_hold"]:
            context["hold_form"] = kwargs.get("hold_form") or HoldForm(
                initial={"held_on": timezone.localdate(), "attendees": review.attendees}
            )
        return context


class ReviewCreateView(PermissionRequiredMixin, FormView):
    """An extraordinary review, outside the schedule."""

    permission_required = "reviews.add_managementreview"
    template_name = "reviews/review_form.html"
    form_class = ReviewForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not is_manager(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {"chair": self.request.user.pk}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "heading": _("New management review")}

    def form_valid(self, form):
        try:
            review = services.review_create(actor=self.request.user, **form.cleaned_data)
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Review %(ref)s planned.") % {"ref": review.reference})
        warn_about_overlaps(self.request, review)
        return redirect(review)


class ReviewUpdateView(ManagerMixin, FormView):
    """The facts and the 9.3.2 sections the quality manager writes before the meeting."""

    template_name = "reviews/review_form.html"
    form_class = ReviewForm

    def get(self, request, *args, **kwargs):
        if not self.review.manual_sections_editable:
            messages.error(request, _("A review that has been held can no longer be edited."))
            return redirect(self.review)
        return super().get(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "editing": self.review}

    def get_initial(self):
        return ReviewForm.initial_for(self.review)

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "review": self.review,
            "heading": _("Edit %(ref)s") % {"ref": self.review.reference},
        }

    def form_valid(self, form):
        data = {name: value for name, value in form.cleaned_data.items() if not form.fields[name].disabled}
        try:
            review = services.review_update(review_id=self.review.pk, actor=self.request.user, **data)
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved."))
        if (review.period_start, review.period_end) != (self.review.period_start, self.review.period_end):
            warn_about_overlaps(self.request, review)
        return redirect(self.review)


class _StepView(ManagerMixin, View):
    """POST only: one step from the detail page; a refused step comes back as a message."""

    http_method_names = ["post"]
    success_message = ""

    def perform(self):
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        try:
            self.perform()
        except SERVICE_ERRORS as error:
            messages.error(request, str(error))
        else:
            messages.success(request, self.success_message)
        return redirect(self.review)


class CompileView(_StepView):
    success_message = _("Compiling the inputs and the report; reload the page in a moment.")

    def perform(self):
        services.review_request_compile(
            review_id=self.review.pk, actor=self.request.user, distribute=bool(self.request.POST.get("distribute"))
        )


class RegenerateView(_StepView):
    success_message = _("Generating a new report version; reload the page in a moment.")

    def perform(self):
        services.review_request_report(
            review_id=self.review.pk, actor=self.request.user, distribute=bool(self.request.POST.get("distribute"))
        )


class CloseView(_StepView):
    success_message = _("Review closed. The final report is being generated and sent.")

    def perform(self):
        services.review_close(review_id=self.review.pk, actor=self.request.user)


class _FormStepView(ManagerMixin, View):
    """POST only: a form on the detail page; invalid input re-renders the page with its errors."""

    http_method_names = ["post"]
    form_class: type = HoldForm
    context_name = ""

    def perform(self, form) -> str:
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                message = self.perform(form)
            except SERVICE_ERRORS as error:
                add_service_error(form, error)
            else:
                messages.success(request, message)
                return redirect(self.review)
        detail = ReviewDetailView(request=request, kwargs=self.kwargs)
        context = detail.get_context_data(**{self.context_name: form})
        return detail.render_to_response(context, status=400)


class HoldView(_FormStepView):
    form_class = HoldForm
    context_name = "hold_form"

    def perform(self, form) -> str:
        services.review_hold(review_id=self.review.pk, actor=self.request.user, **form.cleaned_data)
        return _("The meeting is recorded. Record the decisions, then close the review.")


class DecisionCreateView(_FormStepView):
    form_class = DecisionForm
    context_name = "decision_form"

    def perform(self, form) -> str:
        decision = services.decision_add(review_id=self.review.pk, actor=self.request.user, **form.cleaned_data)
        if decision.action:
            return _("Decision recorded with action %(ref)s.") % {"ref": decision.action.reference}
        return _("Decision recorded.")


class ReportMixin(PermissionRequiredMixin, ReviewMixin):
    permission_required = "reviews.view_reviewreport"

    def load_report(self) -> ReviewReport:
        review = self.load_review()
        return get_object_or_404(
            ReviewReport.objects.select_related("snapshot", "generated_by"),
            review=review,
            version=self.kwargs["version"],
        )


class ReportView(ReportMixin, TemplateView):
    """One stored report version as a page: the same body as its PDF, from the same frozen data."""

    template_name = "reviews/report_detail.html"

    def get_context_data(self, **kwargs):
        report = self.load_report()
        body = rendering.report_context(
            data=report.snapshot.data,
            content=report.content,
            version=report.version,
            snapshot=report.snapshot,
            generated_at=report.generated_at,
        )
        return {**super().get_context_data(**kwargs), **body, "review": self.review, "report": report, "pdf": False}


class ReportDownloadView(ReportMixin, View):
    """The stored PDF, byte for byte; who took it is recorded in the audit trail."""

    def get(self, request, *args, **kwargs):
        report = self.load_report()
        path = services.report_path(report.file_name)
        if not path.exists():
            raise Http404
        services.report_downloaded(report=report, actor=request.user)
        return FileResponse(path.open("rb"), as_attachment=True, filename=report.download_name)


# --- schedules ---------------------------------------------------------------------------------


class ScheduleListView(PermissionRequiredMixin, ListView):
    permission_required = SCHEDULE_VIEW
    template_name = "reviews/schedule_list.html"
    context_object_name = "schedules"
    paginate_by = 25

    def get_queryset(self):
        return ReviewSchedule.objects.visible_to(self.request.user).select_related("chair")

    def get_context_data(self, **kwargs):
        user = self.request.user
        return {
            **super().get_context_data(**kwargs),
            "can_change": user.has_perm(SCHEDULE_CHANGE) and is_manager(user),
        }


class _ScheduleFormView(PermissionRequiredMixin, FormView):
    template_name = "reviews/schedule_form.html"
    form_class = ScheduleForm
    schedule: ReviewSchedule | None = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not (self.has_permission() and is_manager(request.user)):
            raise PermissionDenied
        if "pk" in self.kwargs:
            self.schedule = get_object_or_404(ReviewSchedule.objects.visible_to(request.user), pk=self.kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.schedule}

    def get_context_data(self, **kwargs):
        heading = _("Edit schedule") if self.schedule else _("New review schedule")
        return {**super().get_context_data(**kwargs), "schedule": self.schedule, "heading": heading}

    def form_valid(self, form):
        try:
            schedule = services.schedule_save(
                actor=self.request.user, schedule_id=self.schedule.pk if self.schedule else None, **form.cleaned_data
            )
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Schedule saved. The next review's inputs are compiled on %(when)s.")
            % {"when": timezone.localtime(schedule.next_run_at).strftime("%Y-%m-%d %H:%M")},
        )
        return redirect("reviews:schedule_list")


class ScheduleCreateView(_ScheduleFormView):
    permission_required = "reviews.add_reviewschedule"

    def get_initial(self):
        today = timezone.localdate()
        return {"chair": self.request.user.pk, "next_period_start": today.replace(day=1), "lead_days": 7}


class ScheduleUpdateView(_ScheduleFormView):
    permission_required = SCHEDULE_CHANGE
