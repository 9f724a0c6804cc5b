"""Staff pages for survey results (one campaign, across campaigns) and the CSV export.

Reading needs surveys.view_campaign (quality managers, staff, auditors); the export also needs
surveys.export_responses and is recorded in the audit trail before the first row streams.
Every figure comes from apps.surveys.selectors.results; the pages only lay it out.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from apps.core import dates, tabular
from apps.customers.models import Product
from apps.customers.selectors import customer_segments
from apps.surveys.models import EXPORT_PERMISSION, VIEW_PERMISSION, Campaign, Wave
from apps.surveys.selectors import results as selectors
from apps.surveys.selectors.results import ResultFilters
from apps.surveys.services import responses as response_services

ALL = _("All")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT_PAGE_SIZE = 20


class ResultsFilterForm(forms.Form):
    """The GET filters of both results pages; `campaign` only across campaigns, `wave` only on one."""

    campaign = forms.ModelChoiceField(queryset=Campaign.objects.none(), required=False, empty_label=ALL)
    wave = forms.ModelChoiceField(queryset=Wave.objects.none(), required=False, empty_label=ALL, label=_("Wave"))
    # A period, not "answered from": the scores count answers submitted in it, the response rate
    # invitations sent in it (the figures card says so when a period is chosen).
    date_from = dates.DateField(required=False, widget=DATE, label=_("Period from"))
    date_to = dates.DateField(required=False, widget=DATE, label=_("Period until"))
    segment = forms.ChoiceField(required=False, label=_("Segment"))
    product = forms.ModelChoiceField(
        queryset=Product.objects.order_by("name", "id"), required=False, empty_label=ALL, label=_("Product")
    )

    def __init__(self, *args, campaign: Campaign | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        if campaign is None:
            del self.fields["wave"]
            self.fields["campaign"].queryset = Campaign.objects.order_by("name", "id")
            self.fields["campaign"].label = _("Campaign")
        else:
            del self.fields["campaign"]
            self.fields["wave"].queryset = Wave.objects.filter(campaign=campaign).order_by("number")
            self.fields["wave"].label_from_instance = lambda wave: _("Wave %(number)s") % {"number": wave.number}
        self.fields["segment"].choices = [("", ALL), *((segment, segment) for segment in customer_segments())]

    def filters(self) -> ResultFilters:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        campaign = self.campaign or data.get("campaign")
        return ResultFilters(
            campaign_id=campaign.pk if campaign else None,
            wave_id=data["wave"].pk if data.get("wave") else None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            segment=data.get("segment") or "",
            product_id=data["product"].pk if data.get("product") else None,
        )


class _ResultsPage(PermissionRequiredMixin, TemplateView):
    permission_required = VIEW_PERMISSION
    campaign: Campaign | None = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = ResultsFilterForm(self.request.GET or None, campaign=self.campaign)
        filters = form.filters()
        context.update(
            campaign=self.campaign,
            filter={"form": form},
            results=selectors.results(filters, campaign=self.campaign),
            texts=selectors.text_answers(filters, page=self.request.GET.get("page", 1), per_page=TEXT_PAGE_SIZE),
            can_export=self.campaign is not None and self.request.user.has_perm(EXPORT_PERMISSION),
        )
        context["page_obj"] = context["texts"].page
        return context


class CampaignResultsView(_ResultsPage):
    """One campaign: figures, distributions, choices, free text, trend, waves, breakdowns."""

    template_name = "surveys/results/campaign_results.html"

    def get(self, request, *args, **kwargs):
        self.campaign = get_object_or_404(Campaign.objects.select_related("template_version"), pk=kwargs["pk"])
        return super().get(request, *args, **kwargs)


class ResultsView(_ResultsPage):
    """Across campaigns, filtered by campaign, period, segment and product."""

    template_name = "surveys/results/results.html"


class CampaignExportView(PermissionRequiredMixin, View):
    """All responses of a campaign as CSV: one row per response, one column per question."""

    permission_required = (VIEW_PERMISSION, EXPORT_PERMISSION)

    def get(self, request, pk):
        campaign = get_object_or_404(Campaign, pk=pk)
        response_services.responses_export(campaign_id=campaign.pk, actor=request.user)
        return tabular.response(
            selectors.export_rows(campaign), filename=f"survey-campaign-{campaign.pk}-responses.csv"
        )
