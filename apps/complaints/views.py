"""Complaint pages: the public form and tracking page, and the staff list/detail.

Every staff view reads through `Complaint.objects.visible_to(user)`, so another
handler's complaint by id is 404; writes go through services and their
permission checks (403 when the role or the object rule refuses).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import DetailView, FormView, TemplateView
from django_filters.views import FilterView

from apps.actions.selectors import for_source
from apps.audit.selectors import history_for
from apps.complaints import services
from apps.complaints.filters import ComplaintFilter
from apps.complaints.forms import (
    ActionRaiseForm,
    AddInformationForm,
    AssessmentForm,
    AssignForm,
    CategoryForm,
    MessageForm,
    PublicComplaintForm,
    RatingForm,
    ReasonForm,
    SlaPolicyForm,
    StaffComplaintForm,
    TransitionForm,
)
from apps.complaints.models import (
    ASSIGN_PERMISSION,
    CHANGE_PERMISSION,
    VIEW_PERMISSION,
    Complaint,
    ComplaintAttachment,
    ComplaintCategory,
    ComplaintMessage,
    Severity,
)
from apps.core import panels
from apps.core.i18n import speak_recipients_language
from apps.core.pagination import KeysetPaginationMixin
from apps.core.personal_data import can_see_personal_data
from apps.core.public import (
    RateLimitedFormMixin,
    forget_reference,
    rate_limit_claim,
    rate_limited_messages,
    recall_reference,
    remember_reference,
)
from apps.core.views import SERVICE_ERRORS, add_service_error

Status = Complaint.Status


# --- public ------------------------------------------------------------------------------------


DONE_COOKIE = "qms_complaint_submitted"


class PublicComplaintView(RateLimitedFormMixin, FormView):
    """The public complaint form (no account, no JavaScript)."""

    template_name = "complaints/public_form.html"
    form_class = PublicComplaintForm
    rate_limit_scope = "complaint"

    def rate_limit(self) -> tuple[int, int]:
        return settings.COMPLAINT_PUBLIC_RATE_LIMIT, settings.COMPLAINT_PUBLIC_RATE_WINDOW_SECONDS

    def form_valid(self, form):
        data = form.cleaned_data
        complaint = services.complaint_create(
            actor=services.PUBLIC,
            channel=Complaint.Channel.WEB,
            complainant_name=data["complainant_name"],
            complainant_email=data["complainant_email"],
            customer_name=data["customer_name"],
            product=data["product"],
            order_reference=data["order_reference"],
            description=data["description"],
            desired_outcome=data["desired_outcome"],
            attachments=data["attachments"],
            language=self.request.LANGUAGE_CODE,
            submission_key=data["submission_key"],
        )
        # The reference is not secret; the token never goes into a URL we redirect to or a cookie.
        return remember_reference(redirect("complaints:public_done"), DONE_COOKIE, complaint.reference)


class StaffComplaintCreateView(PermissionRequiredMixin, FormView):
    """Record a complaint received by phone, letter, e-mail or in person (same service as the public form)."""

    permission_required = "complaints.add_complaint"
    template_name = "complaints/complaint_record.html"
    form_class = StaffComplaintForm

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            complaint = services.complaint_create(
                actor=self.request.user,
                channel=data["channel"],
                complainant_name=data["complainant_name"],
                complainant_email=data["complainant_email"],
                customer=data["customer"],
                customer_name=data["customer_name"],
                contact=data.get("contact"),
                product=data["product"],
                order_reference=data["order_reference"],
                description=data["description"],
                desired_outcome=data["desired_outcome"],
                attachments=data["attachments"],
            )
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Complaint %(reference)s recorded; the complainant gets an acknowledgement e-mail.")
            % {"reference": complaint.reference},
        )
        # Staff see only complaints assigned to them: until a quality manager assigns it, back where they came from.
        if Complaint.objects.visible_to(self.request.user).filter(pk=complaint.pk).exists():
            return redirect("complaints:complaint_detail", pk=complaint.pk)
        return redirect(self.way_back())

    def way_back(self) -> str:
        return reverse("complaints:complaint_list")


class PublicDoneView(TemplateView):
    template_name = "complaints/public_done.html"

    def get(self, request, *args, **kwargs):
        reference = recall_reference(request, DONE_COOKIE)
        if not reference:
            return redirect("complaints:public_new")
        return forget_reference(self.render_to_response({"reference": reference}), DONE_COOKIE)


def _timeline(complaint: Complaint) -> list[dict]:
    steps = [
        (_("Received"), complaint.received_at),
        (_("Acknowledged"), complaint.acknowledged_at),
        (_("Investigation started"), complaint.assessed_at),
        (_("Response sent"), complaint.responded_at),
        (_("Reopened"), complaint.reopened_at),
        (_("Closed"), complaint.closed_at),
    ]
    return sorted(({"label": label, "at": at} for label, at in steps if at), key=lambda row: row["at"])


class TrackView(View):
    """The complainant's private page. A wrong token is a plain 404."""

    template_name = "complaints/track.html"

    def dispatch(self, request, *args, **kwargs):
        self.complaint = services.complaint_for_token(kwargs["token"])
        if self.complaint is None:
            raise Http404
        contact = self.complaint.contact
        speak_recipients_language(request, self.complaint.language, contact.preferred_language if contact else "")
        return super().dispatch(request, *args, **kwargs)

    def context(self, **forms):
        complaint = self.complaint
        can_reopen = (
            complaint.status == Status.CLOSED
            and complaint.closed_at
            and (timezone.now() - complaint.closed_at).days < services.reopen_days()
        )
        return {
            "complaint": complaint,
            "timeline": _timeline(complaint),
            "messages_visible": complaint.messages.filter(visibility=ComplaintMessage.Visibility.CUSTOMER),
            "info_form": forms.get("info_form") or AddInformationForm(),
            "rating_form": forms.get("rating_form") or RatingForm(),
            "reopen_form": forms.get("reopen_form") or ReasonForm(),
            "can_add": not complaint.is_final,
            "can_rate": complaint.status == Status.CLOSED and complaint.rated_at is None,
            "can_reopen": can_reopen,
            "errors": forms.get("errors", []),
            # The decision is told once the response went out (ISO 10002), not while it is drafted.
            "decision": complaint.resolution if complaint.status in (Status.RESPONDED, Status.CLOSED) else "",
            "attachments": [attachment for attachment in complaint.attachments.all() if attachment.file],
            "token": self.kwargs["token"],
        }

    def get(self, request, token):
        return render(request, self.template_name, self.context())

    def post(self, request, token):
        limit, window = settings.COMPLAINT_PUBLIC_RATE_LIMIT, settings.COMPLAINT_PUBLIC_RATE_WINDOW_SECONDS
        claim = rate_limit_claim(request, scope="complaint-track", limit=limit, window_seconds=window)
        if claim.exceeded:
            claim.release()
            return self.rate_limited(request)
        response = self.submit(request)
        if response.status_code != 302:
            claim.release()  # only what the complaint accepted counts (#24)
        return response

    def rate_limited(self, request):
        """The page again with the form that was sent filled in (files cannot be) and the message."""
        form_classes = {"info": ("info_form", AddInformationForm), "rating": ("rating_form", RatingForm)}
        name, form_class = form_classes.get(request.POST.get("form"), ("reopen_form", ReasonForm))
        forms = {name: form_class(request.POST), "errors": rate_limited_messages(request)}
        return render(request, self.template_name, self.context(**forms), status=429)

    def submit(self, request):
        kind = request.POST.get("form")
        forms: dict = {}
        try:
            if kind == "info":
                form = forms["info_form"] = AddInformationForm(request.POST, request.FILES)
                if form.is_valid():
                    services.customer_add_information(
                        complaint_id=self.complaint.pk,
                        body=form.cleaned_data["body"],
                        attachments=form.cleaned_data["attachments"],
                    )
                    return redirect(request.path)
            elif kind == "rating":
                form = forms["rating_form"] = RatingForm(request.POST)
                if form.is_valid():
                    services.complaint_rate(
                        complaint_id=self.complaint.pk,
                        rating=form.cleaned_data["rating"],
                        comment=form.cleaned_data["comment"],
                    )
                    return redirect(request.path)
            elif kind == "reopen":
                form = forms["reopen_form"] = ReasonForm(request.POST)
                if form.is_valid():
                    services.complaint_reopen(
                        complaint_id=self.complaint.pk, actor=services.PUBLIC, reason=form.cleaned_data["reason"]
                    )
                    return redirect(request.path)
        except SERVICE_ERRORS as error:
            forms["errors"] = [str(error)]
        self.complaint.refresh_from_db()
        return render(request, self.template_name, self.context(**forms), status=400)


class TrackAttachmentView(View):
    """A file the complainant sent, for the holder of that complaint's tracking link only: another
    complaint's token, a wrong one, or an erased complainant's is a plain 404."""

    def get(self, request, token: str, attachment_id: int):
        complaint = services.complaint_for_token(token)
        if complaint is None:
            raise Http404
        response = _attachment_download(complaint, attachment_id)
        response["Cache-Control"] = "private, no-store"
        return response


# --- staff -------------------------------------------------------------------------------------


def _attachment_download(complaint: Complaint, attachment_id: int) -> FileResponse:
    """One of the complaint's files as a download, never rendered inline."""
    attachment = get_object_or_404(ComplaintAttachment, pk=attachment_id, complaint=complaint)
    if not attachment.file:
        raise Http404  # erased with the complainant's personal data
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _visible(user):
    return Complaint.objects.visible_to(user)


class ComplaintListView(PermissionRequiredMixin, KeysetPaginationMixin, FilterView):
    permission_required = VIEW_PERMISSION
    filterset_class = ComplaintFilter
    template_name = "complaints/complaint_list.html"
    paginate_by = 25
    keyset_ordering = ("-received_at", "-id")

    def get_queryset(self):
        return _visible(self.request.user).with_relations()

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "now": timezone.now()}


class ComplaintDetailView(PermissionRequiredMixin, DetailView):
    permission_required = VIEW_PERMISSION
    template_name = "complaints/complaint_detail.html"
    context_object_name = "complaint"

    def get_queryset(self):
        return _visible(self.request.user).with_relations()

    def get_context_data(self, **kwargs):
        complaint = self.object
        user = self.request.user
        can_change = complaint.can_be_changed_by(user)
        targets = sorted(complaint.allowed_targets() - {Status.REOPENED}) if can_change else []
        linked_actions = list(for_source(complaint))
        return {
            **super().get_context_data(**kwargs),
            "can_change": can_change,
            "can_assign": user.has_perm(ASSIGN_PERMISSION),
            "targets": [Status(t) for t in targets],
            "can_reopen": can_change and complaint.status == Status.CLOSED,
            "thread": complaint.messages.select_related("author"),
            "attachments": complaint.attachments.all(),
            "transition_form": TransitionForm(),
            "message_form": MessageForm(),
            "assessment_form": AssessmentForm(
                initial={
                    "severity": complaint.severity,
                    "category": complaint.category_id,
                    "product": complaint.product_id,
                    "root_cause": complaint.root_cause,
                    "resolution": complaint.resolution,
                    "dispute_body": complaint.dispute_body,
                    "dispute_date": complaint.dispute_date,
                    "dispute_outcome": complaint.dispute_outcome,
                }
            ),
            "assign_form": AssignForm(initial={"assignee": complaint.assignee_id}),
            "action_form": ActionRaiseForm(initial={"title": complaint.reference}),
            "linked_actions": linked_actions,
            "actions_available": True,
            "history": history_for(complaint),
            "now": timezone.now(),
            "panels": panels.panels_for("complaint", complaint, user),
            **getattr(self, "bound_forms", {}),
        }


class ComplaintPostView(PermissionRequiredMixin, View):
    """Base for the POST-only staff actions: load within scope (404), validate, call the service.

    A role that may not change complaints at all (auditors) is refused with 403 before
    anything is read; the services still apply the object rules (staff: assigned only)."""

    permission_required = CHANGE_PERMISSION
    form_class = ReasonForm
    success_message = gettext_lazy("Saved.")

    def perform(self, complaint: Complaint, data: dict):
        raise NotImplementedError

    def post(self, request, pk: int):
        complaint = get_object_or_404(_visible(request.user), pk=pk)
        form = self.form_class(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect("complaints:complaint_detail", pk=pk)
        try:
            self.perform(complaint, form.cleaned_data)
        except SERVICE_ERRORS as error:
            messages.error(request, str(error))
        else:
            messages.success(request, self.success_message)
        return redirect("complaints:complaint_detail", pk=pk)


class TransitionView(ComplaintPostView):
    form_class = TransitionForm
    success_message = gettext_lazy("Status changed.")

    def perform(self, complaint, data):
        services.complaint_transition(
            complaint_id=complaint.pk,
            to=data["to"],
            actor=self.request.user,
            reason=data["reason"],
            resolution=data["resolution"],
        )

    def post(self, request, pk: int):
        complaint = get_object_or_404(_visible(request.user), pk=pk)
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    self.perform(complaint, form.cleaned_data)
            except ValidationError as error:
                # A refusal that names a field (no resolution recorded) is shown on that field,
                # with what was typed kept, on the complaint's page.
                add_service_error(form, error)
                return self.refused(request, pk, form)
            except SERVICE_ERRORS as error:
                messages.error(request, str(error))
            else:
                messages.success(request, self.success_message)
                return redirect("complaints:complaint_detail", pk=pk)
        else:
            return self.refused(request, pk, form)
        return redirect("complaints:complaint_detail", pk=pk)

    def refused(self, request, pk: int, form):
        detail = ComplaintDetailView()
        detail.setup(request, pk=pk)
        detail.object = detail.get_object()
        detail.bound_forms = {"transition_form": form}
        response = detail.render_to_response(detail.get_context_data(object=detail.object))
        response.status_code = 400
        return response


class ReopenView(ComplaintPostView):
    success_message = gettext_lazy("Complaint reopened.")

    def perform(self, complaint, data):
        services.complaint_reopen(complaint_id=complaint.pk, actor=self.request.user, reason=data["reason"])


class EraseView(ComplaintPostView):
    """Erase the complainant's personal data: quality managers only."""

    permission_required = "complaints.erase_complaint"
    success_message = gettext_lazy("The complainant's personal data was erased.")

    def perform(self, complaint, data):
        services.complaint_erase_personal_data(
            complaint_id=complaint.pk, actor=self.request.user, reason=data["reason"]
        )


class MessageView(ComplaintPostView):
    permission_required = "complaints.add_complaintmessage"
    form_class = MessageForm

    def perform(self, complaint, data):
        services.message_add(
            complaint_id=complaint.pk, actor=self.request.user, body=data["body"], visibility=data["visibility"]
        )


class AssessView(ComplaintPostView):
    form_class = AssessmentForm

    def perform(self, complaint, data):
        services.complaint_assess(complaint_id=complaint.pk, actor=self.request.user, **data)


class AssignView(ComplaintPostView):
    permission_required = ASSIGN_PERMISSION
    form_class = AssignForm

    def perform(self, complaint, data):
        services.complaint_assign(complaint_id=complaint.pk, actor=self.request.user, assignee=data["assignee"])


class RaiseActionView(ComplaintPostView):
    form_class = ActionRaiseForm
    success_message = gettext_lazy("Corrective action raised.")

    def perform(self, complaint, data):
        services.raise_corrective_action(
            complaint_id=complaint.pk,
            actor=self.request.user,
            title=data["title"],
            nonconformity=data["nonconformity"],
            containment=data["containment"],
        )


class AttachmentView(LoginRequiredMixin, View):
    """Serve an attachment only to users who can see its complaint (as a download, never inline)
    and may see personal data: what a complainant attached cannot be masked, so it is refused."""

    def get(self, request, pk: int, attachment_id: int):
        if not request.user.has_perm("complaints.view_complaintattachment"):
            raise PermissionDenied
        if not can_see_personal_data(request.user):
            raise PermissionDenied
        complaint = get_object_or_404(_visible(request.user), pk=pk)
        return _attachment_download(complaint, attachment_id)


class CategoryListView(PermissionRequiredMixin, FormView):
    """Quality managers keep the list of complaint categories."""

    permission_required = "complaints.add_complaintcategory"
    template_name = "complaints/category_list.html"
    form_class = CategoryForm

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "categories": ComplaintCategory.objects.all()}

    def post(self, request, *args, **kwargs):
        """Rename or retire/reactivate one category (by its row's buttons), or add a new one."""
        target = request.POST.get("rename") or request.POST.get("toggle")
        if not target:
            return super().post(request, *args, **kwargs)
        category = get_object_or_404(ComplaintCategory, pk=int(target) if target.isdigit() else 0)
        if "toggle" in request.POST:
            name, is_active = category.name, not category.is_active
        else:
            name, is_active = request.POST.get(f"name-{category.pk}", "")[:120], category.is_active
        try:
            services.category_save(actor=request.user, name=name, is_active=is_active, category_id=category.pk)
        except SERVICE_ERRORS as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Category saved."))
        return redirect("complaints:category_list")

    def form_valid(self, form):
        try:
            services.category_save(actor=self.request.user, **form.cleaned_data)
        except SERVICE_ERRORS as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        return redirect("complaints:category_list")


class SlaPolicyView(PermissionRequiredMixin, TemplateView):
    """The SLA policy per severity: everyone who handles complaints reads it, quality managers edit it."""

    permission_required = "complaints.view_slapolicy"
    template_name = "complaints/sla_policy.html"

    def forms(self, data=None) -> list[tuple[str, SlaPolicyForm]]:
        from apps.complaints import sla

        table = sla.policies()
        return [
            (Severity(severity), SlaPolicyForm(data, prefix=severity, initial=table[severity]))
            for severity in reversed(Severity.values)
        ]

    def get_context_data(self, **kwargs):
        return {
            "can_edit": self.request.user.has_perm("complaints.change_slapolicy"),
            "rows": kwargs.pop("rows", None) or self.forms(),
            "reason_form": kwargs.pop("reason_form", None) or ReasonForm(),
            **super().get_context_data(**kwargs),
        }

    def post(self, request):
        if not request.user.has_perm("complaints.change_slapolicy"):
            raise PermissionDenied
        rows, reason_form = self.forms(request.POST), ReasonForm(request.POST)
        if reason_form.is_valid() and all(form.is_valid() for _severity, form in rows):
            try:
                with transaction.atomic():
                    for severity, form in rows:
                        services.sla_policy_update(
                            severity=severity,
                            actor=request.user,
                            reason=reason_form.cleaned_data["reason"],
                            **form.cleaned_data,
                        )
            except SERVICE_ERRORS as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("SLA policy saved. Open complaints pick it up at their next step."))
                return redirect("complaints:sla_policy")
        return self.render_to_response(self.get_context_data(rows=rows, reason_form=reason_form))
