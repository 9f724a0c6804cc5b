"""Feedback pages: the public form and the staff pages. Thin: every write through services.

The public form needs no account (CSRF, honeypot, rate limit per client address).
Staff pages declare their model permission (anonymous users are sent to sign in,
signed-in users without it get 403); changing one feedback also applies the object
rule (`Feedback.can_be_changed_by`); triage and conversion need their own permissions.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView

from apps.audit.selectors import history_for
from apps.core import panels
from apps.core.pagination import KeysetPaginationMixin, url_with
from apps.core.public import RateLimitedFormMixin, forget_reference, recall_reference, remember_reference
from apps.core.views import SERVICE_ERRORS, add_service_error
from apps.feedback import selectors, services
from apps.feedback.filters import FeedbackFilter
from apps.feedback.forms import (
    CategoryForm,
    CloseForm,
    FeedbackRecordForm,
    PublicFeedbackForm,
    RaiseActionForm,
    TriageForm,
)
from apps.feedback.models import (
    ADD_PERMISSION,
    CHANGE_PERMISSION,
    CONVERT_PERMISSION,
    TRIAGE_PERMISSION,
    VIEW_PERMISSION,
    Feedback,
    FeedbackCategory,
)

THANKS_COOKIE = "qms_feedback_thanks"


def _rate_limit() -> tuple[int, int]:
    return (
        settings.FEEDBACK_PUBLIC_RATE_LIMIT,
        settings.FEEDBACK_PUBLIC_RATE_WINDOW_SECONDS,
    )


class PublicFeedbackView(RateLimitedFormMixin, FormView):
    """GET/POST /feedback/ (optionally ?product=<code>): works without JavaScript or an account."""

    template_name = "feedback/public_form.html"
    form_class = PublicFeedbackForm
    rate_limit_scope = "feedback"

    def rate_limit(self) -> tuple[int, int]:
        return _rate_limit()

    def get_initial(self):
        code = self.request.GET.get("product", "").strip()
        return {"product": code} if code else {}

    def form_valid(self, form):
        try:
            feedback = services.feedback_submit_public(**form.service_data(), language=self.request.LANGUAGE_CODE)
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        # Only this browser learns the reference, once: the thank-you URL itself carries
        # nothing another visitor could reuse.
        return remember_reference(redirect("feedback:thanks"), THANKS_COOKIE, feedback.reference)


class PublicThanksView(TemplateView):
    template_name = "feedback/public_thanks.html"

    def get(self, request, *args, **kwargs):
        response = self.render_to_response({"reference": recall_reference(request, THANKS_COOKIE)})
        return forget_reference(response, THANKS_COOKIE)


# Staff pages ----------------------------------------------------------------------------


class FeedbackListView(PermissionRequiredMixin, KeysetPaginationMixin, FilterView):
    """All feedback: filter by status, channel, sentiment, category, product, owner, dates; search."""

    permission_required = VIEW_PERMISSION
    filterset_class = FeedbackFilter
    template_name = "feedback/feedback_list.html"
    paginate_by = 25
    keyset_ordering = ("-created_at", "-id")

    def get_queryset(self):
        return selectors.visible_feedback(self.request.user)


class FeedbackRecordView(PermissionRequiredMixin, FormView):
    """Staff record feedback received by e-mail, phone, in a meeting, on social media or in a survey."""

    permission_required = ADD_PERMISSION
    template_name = "feedback/feedback_form.html"
    form_class = FeedbackRecordForm

    def get_initial(self):
        initial = {"owner": self.request.user.pk}
        customer = self.request.GET.get("customer", "")
        if customer.isdigit():
            initial["customer"] = int(customer)
        return initial

    def form_valid(self, form):
        try:
            feedback = services.feedback_record(actor=self.request.user, **form.cleaned_data)
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Feedback %(ref)s recorded.") % {"ref": feedback.reference})
        return redirect("feedback:feedback_detail", pk=feedback.pk)


class FeedbackMixin:
    feedback: Feedback

    def load_feedback(self) -> Feedback:
        self.feedback = get_object_or_404(
            selectors.visible_feedback(self.request.user).select_related("contact", "recorded_by"),
            pk=self.kwargs["pk"],
        )
        return self.feedback


class FeedbackDetailView(PermissionRequiredMixin, FeedbackMixin, TemplateView):
    permission_required = VIEW_PERMISSION
    template_name = "feedback/feedback_detail.html"

    def get_context_data(self, **kwargs):
        feedback = self.load_feedback()
        user = self.request.user
        can_change = feedback.can_be_changed_by(user)
        open_ = not feedback.is_final
        return {
            **super().get_context_data(**kwargs),
            "feedback": feedback,
            "complaint": selectors.complaint_link(feedback),
            "actions": selectors.actions_for(feedback),
            "history": history_for(feedback),
            "panels": panels.panels_for("feedback", feedback, user),
            "may": {
                "triage": user.has_perm(TRIAGE_PERMISSION) and feedback.status in ("new", "triaged"),
                "convert": user.has_perm(CONVERT_PERMISSION) and open_ and feedback.complaint_id is None,
                "raise_action": can_change and open_,
                "close": can_change and open_,
            },
            "triage_form": TriageForm(
                initial={
                    "category": feedback.category_id,
                    "sentiment": feedback.suggested_sentiment,
                    "owner": feedback.owner_id,
                },
                prefix=f"t{feedback.pk}",
            ),
            "raise_form": RaiseActionForm(initial={"title": _("Follow up %(ref)s") % {"ref": feedback.reference}}),
            "close_form": CloseForm(),
        }


class TriageBoardView(PermissionRequiredMixin, TemplateView):
    """Columns new and triaged; each card triages, converts or raises an action in one POST."""

    permission_required = TRIAGE_PERMISSION
    template_name = "feedback/triage_board.html"

    def get_context_data(self, **kwargs):
        may_convert = self.request.user.has_perm(CONVERT_PERMISSION)
        categories = list(selectors.active_categories())
        owners = list(selectors.owner_candidates())

        def card(feedback: Feedback) -> dict:
            form = TriageForm(
                initial={
                    "category": feedback.category_id,
                    "sentiment": feedback.suggested_sentiment,
                    "owner": feedback.owner_id,
                },
                prefix=f"t{feedback.pk}",
            )
            # The choice lists are the same for every card: evaluate them once, not per card.
            form.fields["category"].choices = [("", "---------"), *((c.pk, c.name) for c in categories)]
            form.fields["owner"].choices = [("", "---------"), *((u.pk, u.display_name) for u in owners)]
            return {"feedback": feedback, "form": form, "may_convert": may_convert and feedback.complaint_id is None}

        # Each column pages on its own cursor; its links keep the other column's place and any
        # other parameter of the address.
        params = self.request.GET.copy()
        columns = []
        for status, cursor_param in ((Feedback.Status.NEW, "new"), (Feedback.Status.TRIAGED, "triaged")):
            page = selectors.triage_column(status, cursor=self.request.GET.get(cursor_param))
            if page.next_cursor:
                page.next_url = url_with(params, **{cursor_param: page.next_cursor})
            if page.previous_cursor:
                page.previous_url = url_with(params, **{cursor_param: page.previous_cursor})
            columns.append({"title": status.label, "key": status.value, "page": page, "cards": [card(f) for f in page]})
        return {**super().get_context_data(**kwargs), "columns": columns}


class FeedbackPostView(PermissionRequiredMixin, FeedbackMixin, View):
    """Base for the POST-only workflow steps; redirects back to `next` (board) or the detail page."""

    http_method_names = ["post"]

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.has_permission():
            raise PermissionDenied
        self.load_feedback()
        self.check_object()
        return super().dispatch(request, *args, **kwargs)

    def check_object(self) -> None:
        pass

    def back(self):
        if self.request.POST.get("next") == "triage":
            return redirect("feedback:triage")
        return redirect("feedback:feedback_detail", pk=self.feedback.pk)

    def run(self, call, success: str):
        try:
            call()
        except SERVICE_ERRORS as error:
            messages.error(self.request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(self.request, success)
        return self.back()


class FeedbackTriageView(FeedbackPostView):
    permission_required = TRIAGE_PERMISSION

    def post(self, request, *args, **kwargs):
        form = TriageForm(request.POST, prefix=f"t{self.feedback.pk}")
        if not form.is_valid():
            messages.error(request, _("Choose a valid category, sentiment and owner."))
            return self.back()
        return self.run(
            lambda: services.feedback_triage(feedback_id=self.feedback.pk, actor=request.user, **form.cleaned_data),
            _("%(ref)s triaged.") % {"ref": self.feedback.reference},
        )


class FeedbackCloseView(FeedbackPostView):
    permission_required = CHANGE_PERMISSION

    def check_object(self) -> None:
        if not self.feedback.can_be_changed_by(self.request.user):
            raise PermissionDenied

    def post(self, request, *args, **kwargs):
        form = CloseForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        return self.run(
            lambda: services.feedback_close(feedback_id=self.feedback.pk, actor=request.user, reason=reason),
            _("%(ref)s closed.") % {"ref": self.feedback.reference},
        )


class FeedbackEraseView(FeedbackPostView):
    """Erase the submitter's personal data and the text (quality managers, with a reason)."""

    permission_required = TRIAGE_PERMISSION

    def post(self, request, *args, **kwargs):
        form = CloseForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        return self.run(
            lambda: services.feedback_erase_personal_data(
                feedback_id=self.feedback.pk, actor=request.user, reason=reason
            ),
            _("Personal data in %(ref)s erased.") % {"ref": self.feedback.reference},
        )


class FeedbackConvertView(FeedbackPostView):
    permission_required = CONVERT_PERMISSION

    def post(self, request, *args, **kwargs):
        return self.run(
            lambda: services.feedback_convert_to_complaint(feedback_id=self.feedback.pk, actor=request.user),
            _("%(ref)s converted into a complaint.") % {"ref": self.feedback.reference},
        )


class FeedbackRaiseActionView(PermissionRequiredMixin, FeedbackMixin, FormView):
    """GET: the form; POST (also from a board card): raise the action and go back."""

    permission_required = CHANGE_PERMISSION
    template_name = "feedback/raise_action_form.html"
    form_class = RaiseActionForm

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.has_permission():
            raise PermissionDenied
        self.load_feedback()
        if not self.feedback.can_be_changed_by(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {"title": _("Follow up %(ref)s") % {"ref": self.feedback.reference}}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "feedback": self.feedback}

    def form_valid(self, form):
        try:
            services.feedback_raise_action(feedback_id=self.feedback.pk, actor=self.request.user, **form.cleaned_data)
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Corrective action raised from %(ref)s.") % {"ref": self.feedback.reference})
        if self.request.POST.get("next") == "triage":
            return redirect("feedback:triage")
        return redirect("feedback:feedback_detail", pk=self.feedback.pk)


class CategoryListView(PermissionRequiredMixin, View):
    """Quality managers keep the list of categories: add, retire, bring back."""

    permission_required = "feedback.add_feedbackcategory"

    def get(self, request, form=None):
        return render(
            request,
            "feedback/category_list.html",
            {"categories": FeedbackCategory.objects.order_by("name", "id"), "form": form or CategoryForm()},
        )

    def post(self, request):
        if "toggle" in request.POST:
            category = get_object_or_404(FeedbackCategory, pk=request.POST.get("toggle", "0") or 0)
            services.category_set_active(category_id=category.pk, actor=request.user, is_active=not category.is_active)
            return redirect("feedback:categories")
        form = CategoryForm(request.POST)
        if form.is_valid():
            try:
                services.category_create(actor=request.user, **form.cleaned_data)
            except SERVICE_ERRORS as error:
                add_service_error(form, error)
            else:
                return redirect("feedback:categories")
        return self.get(request, form=form)
