from datetime import timedelta

from django.conf import settings
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.views.generic import TemplateView

from apps.evidence.forms import PeriodForm, default_period
from apps.evidence.selectors import clause_map


class ClauseMapView(PermissionRequiredMixin, TemplateView):
    """What the portal holds for each clause in a period, with a heat map of thin months."""

    permission_required = "audit.view_evidence"
    template_name = "evidence/clause_map.html"

    def get_context_data(self, **kwargs):
        if self.request.GET:
            form = PeriodForm(self.request.GET)
        else:
            start, end = default_period()
            form = PeriodForm({"start": start, "end": end})
        start, end = form.period()
        months, rows = clause_map(start=start, end=end)
        if self.request.user.clause_scope:
            rows = [row for row in rows if row.clause in self.request.user.clause_scope]
        return {
            **super().get_context_data(**kwargs),
            "form": form,
            "months": months,
            "clause_rows": rows,
            "period_start": start,
            "period_last_day": end - timedelta(days=1),
            "thin_below": settings.EVIDENCE_THIN_BELOW,
        }
