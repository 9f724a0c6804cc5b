"""Staff pages for questionnaires and campaigns. Thin: every write goes through a service.

Reading needs the view permission (staff and auditors have it); writing needs
MANAGE_PERMISSION for campaigns and TEMPLATE_PERMISSION for questionnaires, and changing
an existing campaign also `Campaign.can_be_changed_by` (its owner or a quality manager).
Anonymous users are sent to sign in, signed-in users without the permission get 403, on
GET and POST alike; the services check again.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_permission_codename
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Max, Prefetch
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView, TemplateView
from django_filters.views import FilterView

from apps.audit.selectors import history_for
from apps.core.pagination import KeysetPaginationMixin
from apps.core.views import SERVICE_ERRORS, add_service_error
from apps.surveys.filters import CampaignFilter
from apps.surveys.forms import (
    CampaignForm,
    CancelForm,
    ContactImportForm,
    QuestionFormSet,
    TemplateForm,
    question_rows,
)
from apps.surveys.models import (
    MANAGE_PERMISSION,
    TEMPLATE_PERMISSION,
    VIEW_PERMISSION,
    Campaign,
    CampaignStatus,
    Delivery,
    Recurrence,
    SurveyTemplate,
    TemplateVersion,
)
from apps.surveys.selectors.progress import campaign_progress, format_rate, rate_of, waves_with_progress
from apps.surveys.services import campaigns as campaign_services
from apps.surveys.services import templates as template_services

TEMPLATE_VIEW_PERMISSION = f"{SurveyTemplate._meta.app_label}.{get_permission_codename('view', SurveyTemplate._meta)}"
QUESTIONS_PREFIX = "questions"
DELIVERIES_PER_PAGE = 25
# The page polls while something can still move; a finished campaign's numbers are final.
LIVE_STATUSES = {CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE}
POLL_SECONDS = 5


class PostOnlyView(PermissionRequiredMixin, View):
    """A POST-only step: anonymous → sign in, no permission → 403 (never the login page)."""

    http_method_names = ["post"]

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.has_permission():
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


# Questionnaires -----------------------------------------------------------------------


class TemplateListView(PermissionRequiredMixin, ListView):
    permission_required = TEMPLATE_VIEW_PERMISSION
    template_name = "surveys/manage/template_list.html"
    context_object_name = "templates"
    paginate_by = 50

    def get_queryset(self):
        return SurveyTemplate.objects.annotate(
            latest_version=Max("versions__number"), campaign_count=Count("versions__campaigns", distinct=True)
        ).order_by("-is_active", "name", "id")


class TemplateDetailView(PermissionRequiredMixin, TemplateView):
    """Every version's questions and the campaigns that use it."""

    permission_required = TEMPLATE_VIEW_PERMISSION
    template_name = "surveys/manage/template_detail.html"

    def get_context_data(self, **kwargs):
        template = get_object_or_404(SurveyTemplate, pk=self.kwargs["pk"])
        versions = TemplateVersion.objects.filter(template=template).prefetch_related(
            "questions", Prefetch("campaigns", queryset=Campaign.objects.order_by("-created_at", "-id"))
        )
        return {
            **super().get_context_data(**kwargs),
            "template": template,
            "versions": versions,
            "may_edit": self.request.user.has_perm(TEMPLATE_PERMISSION),
            "may_run": self.request.user.has_perm(MANAGE_PERMISSION) and template.is_active,
            "history": history_for(template),
        }


class TemplateFormView(PermissionRequiredMixin, View):
    """Create a questionnaire, or edit one's name and newest version. The question rows are a
    formset that needs no JavaScript: blank rows are ignored, "Add more rows" submits the page
    and comes back with the same answers and three more blank rows."""

    permission_required = TEMPLATE_PERMISSION
    template_name = "surveys/manage/template_form.html"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.template = None
        self.version = None

    def load(self) -> None:
        pass

    def initial(self) -> tuple[dict, list[dict]]:
        return {}, [{}]

    def render_page(self, form, formset):
        return render(
            self.request,
            self.template_name,
            {"form": form, "formset": formset, "template": self.template, "version": self.version},
        )

    def get(self, request, *args, **kwargs):
        self.load()
        initial, rows = self.initial()
        return self.render_page(TemplateForm(initial=initial), QuestionFormSet(initial=rows, prefix=QUESTIONS_PREFIX))

    def post(self, request, *args, **kwargs):
        self.load()
        form = TemplateForm(request.POST)
        formset = QuestionFormSet(request.POST, prefix=QUESTIONS_PREFIX)
        if "add_rows" in request.POST:
            texts = {name: form[name].value() for name in form.fields}
            return self.render_page(
                TemplateForm(initial=texts), QuestionFormSet(initial=formset.rows(), prefix=QUESTIONS_PREFIX)
            )
        if not (form.is_valid() and formset.is_valid()):
            return self.render_page(form, formset)
        try:
            result = self.save(form.cleaned_data, formset.cleaned_questions)
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.render_page(form, formset)
        return redirect("surveys:template_detail", pk=result.pk)

    def save(self, data: dict, questions: list[dict]) -> SurveyTemplate:
        raise NotImplementedError


class TemplateCreateView(TemplateFormView):
    def save(self, data, questions):
        template = template_services.template_create(actor=self.request.user, questions=questions, **data)
        messages.success(self.request, _("Questionnaire “%(name)s” created.") % {"name": template.name})
        return template


class TemplateEditView(TemplateFormView):
    """Edits the newest version: in place while unlocked, otherwise as a new version."""

    def load(self) -> None:
        self.template = get_object_or_404(SurveyTemplate, pk=self.kwargs["pk"])
        self.version = TemplateVersion.objects.filter(template=self.template).order_by("-number").first()

    def initial(self):
        texts = {"name": self.template.name, "description": self.template.description}
        if self.version is None:
            return texts, [{}]
        texts.update(title=self.version.title, introduction=self.version.introduction, thank_you=self.version.thank_you)
        return texts, question_rows(self.version)

    def save(self, data, questions):
        user = self.request.user
        # One transaction: a refused question change must not leave the rename behind.
        with transaction.atomic():
            template_services.template_update(
                template_id=self.template.pk, actor=user, name=data["name"], description=data["description"]
            )
            version = template_services.template_version_edit(
                version_id=self.version.pk,
                actor=user,
                title=data["title"],
                introduction=data["introduction"],
                thank_you=data["thank_you"],
                questions=questions,
            )
        if version.pk != self.version.pk:
            messages.success(
                self.request,
                _("Version %(old)d is in use and stays as it is; your changes are version %(new)d.")
                % {"old": self.version.number, "new": version.number},
            )
        else:
            messages.success(self.request, _("Questionnaire saved."))
        return self.template


class TemplateActiveView(PostOnlyView):
    permission_required = TEMPLATE_PERMISSION

    def post(self, request, pk):
        template = get_object_or_404(SurveyTemplate, pk=pk)
        template_services.template_set_active(
            template_id=template.pk, actor=request.user, is_active=request.POST.get("active") == "1"
        )
        return redirect("surveys:template_detail", pk=template.pk)


# Campaigns ----------------------------------------------------------------------------


class CampaignListView(PermissionRequiredMixin, KeysetPaginationMixin, FilterView):
    permission_required = VIEW_PERMISSION
    filterset_class = CampaignFilter
    template_name = "surveys/manage/campaign_list.html"
    paginate_by = 25
    keyset_ordering = ("-created_at", "-id")

    def get_queryset(self):
        return Campaign.objects.select_related("template_version__template", "owner", "audience_product").order_by(
            "-created_at", "-id"
        )

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "time_zone": settings.TIME_ZONE}


class CampaignMixin:
    campaign: Campaign

    def load_campaign(self) -> Campaign:
        self.campaign = get_object_or_404(
            Campaign.objects.select_related("template_version__template", "owner", "audience_product"),
            pk=self.kwargs["pk"],
        )
        return self.campaign

    def load_campaign_to_change(self) -> Campaign:
        """The campaign, or 403 unless the user may change it (its owner or a quality manager):
        holding the capability is not enough to change someone else's campaign."""
        campaign = self.load_campaign()
        if not campaign.can_be_changed_by(self.request.user):
            raise PermissionDenied
        return campaign


def _campaign_initial(campaign: Campaign) -> dict:
    return {
        **{name: getattr(campaign, name) for name in ["name", "description", "audience_kind", "recurrence"]},
        **{name: getattr(campaign, name) for name in campaign_services.SCHEDULE_FIELDS},
        "template_version": campaign.template_version_id,
        "audience_segments": campaign.audience_segments,
        "audience_product": campaign.audience_product_id,
        "audience_contacts": list(campaign.audience_contacts.values_list("pk", flat=True)),
        "owner": campaign.owner_id,
    }


class CampaignCreateView(PermissionRequiredMixin, View):
    permission_required = MANAGE_PERMISSION
    template_name = "surveys/manage/campaign_form.html"

    def form(self, data=None):
        initial = {"owner": self.request.user.pk, "recurrence": Recurrence.ONCE, "audience_kind": "segments"}
        template = self.request.GET.get("template", "")
        if template.isdigit():
            latest = TemplateVersion.objects.filter(template_id=int(template)).order_by("-number").first()
            initial["template_version"] = latest.pk if latest else None
        return CampaignForm(data, initial=initial, time_zone=settings.TIME_ZONE)

    def get(self, request):
        return render(request, self.template_name, {"form": self.form()})

    def post(self, request):
        form = self.form(request.POST)
        if form.is_valid():
            try:
                campaign = campaign_services.campaign_create(actor=request.user, **form.cleaned_data)
            except SERVICE_ERRORS as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Campaign “%(name)s” created as a draft.") % {"name": campaign.name})
                return redirect("surveys:campaign_detail", pk=campaign.pk)
        return render(request, self.template_name, {"form": form})


class CampaignEditView(PermissionRequiredMixin, CampaignMixin, View):
    permission_required = MANAGE_PERMISSION
    template_name = "surveys/manage/campaign_form.html"

    def form(self, data=None):
        return CampaignForm(
            data,
            initial=_campaign_initial(self.campaign),
            campaign=self.campaign,
            time_zone=settings.TIME_ZONE,
            audience_locked=not campaign_services.audience_editable(self.campaign),
        )

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and self.has_permission():
            self.load_campaign_to_change()
            if self.campaign.status in campaign_services.FINAL_STATUSES:
                messages.error(request, _("A finished or cancelled campaign can no longer be changed."))
                return redirect("surveys:campaign_detail", pk=self.campaign.pk)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, pk):
        return render(request, self.template_name, {"form": self.form(), "campaign": self.campaign})

    def post(self, request, pk):
        form = self.form(request.POST)
        if form.is_valid():
            try:
                campaign_services.campaign_update(campaign_id=self.campaign.pk, actor=request.user, **form.cleaned_data)
            except SERVICE_ERRORS as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Campaign saved."))
                return redirect("surveys:campaign_detail", pk=self.campaign.pk)
        return render(request, self.template_name, {"form": form, "campaign": self.campaign})


def _progress_payload(campaign: Campaign) -> dict:
    progress = campaign_progress(campaign.pk)
    display = {key: str(value) for key, value in progress.items() if key != "response_rate"}
    display["response_rate"] = format_rate(progress["response_rate"])
    return {
        "status": campaign.status,
        "live": campaign.status in LIVE_STATUSES,
        "counts": progress,
        "display": {**display, "status": str(campaign.get_status_display())},
    }


class CampaignDetailView(PermissionRequiredMixin, CampaignMixin, TemplateView):
    """Status, schedule, audience, live counts, waves, the delivery log and the buttons the
    user may use (none for auditors and staff without the capability)."""

    permission_required = VIEW_PERMISSION
    template_name = "surveys/manage/campaign_detail.html"

    def get_context_data(self, **kwargs):
        campaign = self.load_campaign()
        status = campaign.status
        manage = campaign.can_be_changed_by(self.request.user)
        waves = list(waves_with_progress(campaign.pk))
        for wave in waves:
            wave.rate_display = format_rate(rate_of(wave))
        deliveries = Paginator(
            Delivery.objects.filter(invitation__campaign=campaign)
            .select_related("invitation__customer", "invitation__contact", "invitation__wave")
            .order_by("-at", "-id"),
            DELIVERIES_PER_PAGE,
        ).get_page(self.request.GET.get("page"))
        return {
            **super().get_context_data(**kwargs),
            "campaign": campaign,
            "progress": _progress_payload(campaign),
            "poll_seconds": POLL_SECONDS,
            "waves": waves,
            "page_obj": deliveries,
            "contact_count": campaign.audience_contacts.count()
            if campaign.audience_kind == Campaign.AudienceKind.CONTACTS
            else None,
            "may": {
                "edit": manage and status not in campaign_services.FINAL_STATUSES,
                "schedule": manage and status == CampaignStatus.DRAFT,
                "unschedule": manage and status == CampaignStatus.SCHEDULED,
                "cancel": manage and CampaignStatus.CANCELLED in Campaign.TRANSITIONS[status],
                "send_now": manage and campaign.can_send_now,
                # a draft goes out in one step (with a confirmation) once it could be scheduled
                "send_draft": manage
                and status == CampaignStatus.DRAFT
                and not campaign_services.send_problems(campaign),
                "import": manage and campaign_services.audience_editable(campaign),
            },
            "cancel_form": CancelForm(),
            "history": history_for(campaign),
        }


class CampaignProgressView(PermissionRequiredMixin, CampaignMixin, View):
    """GET: the live counts as JSON for static/js/survey-progress.js."""

    permission_required = VIEW_PERMISSION
    http_method_names = ["get"]

    def get(self, request, pk):
        response = JsonResponse(_progress_payload(self.load_campaign()))
        response["Cache-Control"] = "no-store"
        return response


class CampaignActionView(CampaignMixin, PostOnlyView):
    """Base of the campaign's buttons: calls one service and goes back to the page with the
    outcome as a message (a refused step shows why)."""

    permission_required = MANAGE_PERMISSION
    success = ""

    def perform(self, request) -> None:
        raise NotImplementedError

    def post(self, request, pk):
        self.load_campaign_to_change()
        try:
            self.perform(request)
        except SERVICE_ERRORS as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(request, self.success % {"name": self.campaign.name})
        return redirect("surveys:campaign_detail", pk=self.campaign.pk)


class CampaignScheduleView(CampaignActionView):
    success = gettext_lazy("“%(name)s” is scheduled.")

    def perform(self, request):
        campaign_services.campaign_schedule(campaign_id=self.campaign.pk, actor=request.user)


class CampaignUnscheduleView(CampaignActionView):
    success = gettext_lazy("“%(name)s” is back to draft; nothing will be sent.")

    def perform(self, request):
        campaign_services.campaign_unschedule(campaign_id=self.campaign.pk, actor=request.user)


class CampaignCancelView(CampaignActionView):
    success = gettext_lazy("“%(name)s” is cancelled.")

    def perform(self, request):
        form = CancelForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        campaign_services.campaign_cancel(campaign_id=self.campaign.pk, actor=request.user, reason=reason)


class CampaignSendNowView(CampaignActionView):
    success = gettext_lazy("“%(name)s” is being sent now.")

    def perform(self, request):
        from apps.surveys.services.dispatch import campaign_send_now

        campaign_send_now(campaign_id=self.campaign.pk, actor=request.user)


class CampaignSendDraftView(PermissionRequiredMixin, CampaignMixin, View):
    """ "Send now" on a ready draft. GET asks for confirmation (what goes to whom); POST sends.
    A second POST (double submit, back button) finds it already on its way and sends nothing more."""

    permission_required = MANAGE_PERMISSION
    http_method_names = ["get", "post"]
    template_name = "surveys/manage/campaign_send_confirm.html"

    def get(self, request, pk):
        campaign = self.load_campaign_to_change()
        if campaign.status != CampaignStatus.DRAFT:
            return redirect("surveys:campaign_detail", pk=campaign.pk)
        return render(
            request,
            self.template_name,
            {
                "campaign": campaign,
                "problems": campaign_services.send_problems(campaign),
                "contact_count": campaign.audience_contacts.count()
                if campaign.audience_kind == Campaign.AudienceKind.CONTACTS
                else None,
            },
        )

    def post(self, request, pk):
        campaign = self.load_campaign_to_change()
        try:
            campaign, sent = campaign_services.campaign_send_draft_now(campaign_id=campaign.pk, actor=request.user)
        except SERVICE_ERRORS as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            if sent:
                messages.success(request, _("“%(name)s” is being sent now.") % {"name": campaign.name})
            else:
                messages.info(request, _("“%(name)s” is already being sent.") % {"name": campaign.name})
        return redirect("surveys:campaign_detail", pk=campaign.pk)


class CampaignImportView(PermissionRequiredMixin, CampaignMixin, View):
    """Upload a CSV of e-mail addresses: matching consenting contacts join the audience, the
    other rows are listed with their row number and the reason."""

    permission_required = MANAGE_PERMISSION
    template_name = "surveys/manage/campaign_import.html"

    def page(self, form, result=None):
        return render(self.request, self.template_name, {"form": form, "campaign": self.campaign, "result": result})

    def get(self, request, pk):
        self.load_campaign_to_change()
        return self.page(ContactImportForm())

    def post(self, request, pk):
        self.load_campaign_to_change()
        form = ContactImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(form)
        try:
            result = campaign_services.campaign_import_contacts(
                campaign_id=self.campaign.pk, actor=request.user, file=form.cleaned_data["file"]
            )
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.page(form)
        if not result.file_refused and result.added:
            messages.success(
                request,
                _("%(added)d contacts added to the audience (%(already)d were already in it).")
                % {"added": result.added, "already": result.already_in},
            )
        return self.page(ContactImportForm() if not result.file_refused else form, result)
