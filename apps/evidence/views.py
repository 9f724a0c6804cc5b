from datetime import timedelta

from django.conf import settings
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import redirect
from django.views.generic import TemplateView

from apps.audit import checkpoints
from apps.evidence import services
from apps.evidence.forms import PeriodForm, default_period
from apps.evidence.models import IntegrityCheck
from apps.evidence.selectors import clause_map

PERMISSION = "audit.view_evidence"
# The integrity page reloads itself this often while a verification runs (no JavaScript needed).
REFRESH_SECONDS = 3


class ClauseMapView(PermissionRequiredMixin, TemplateView):
    """What the portal holds for each clause in a period, with a heat map of thin months."""

    permission_required = PERMISSION
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


class IntegrityView(PermissionRequiredMixin, TemplateView):
    """The audit chain's verification against the signed checkpoints, run in the background,
    and the public key anyone can check checkpoints and evidence packs with."""

    permission_required = PERMISSION
    template_name = "evidence/integrity.html"

    def get_context_data(self, **kwargs):
        runs = list(IntegrityCheck.objects.select_related("requested_by")[:10])
        latest = runs[0] if runs else None
        try:
            log = checkpoints.read_log()
            log_problem = ""
        except checkpoints.CheckpointLogError as error:
            log, log_problem = [], str(error)
        public_key = checkpoints.public_key_b64()
        return {
            **super().get_context_data(**kwargs),
            "latest": latest,
            "runs": runs,
            "refresh_seconds": REFRESH_SECONDS if latest and latest.active else None,
            "public_key": public_key,
            "key_id": checkpoints.key_id(checkpoints.public_key_bytes()),
            "checkpoint_count": len(log),
            "last_checkpoint": log[-1] if log else None,
            "log_problem": log_problem,
        }

    def post(self, request, *args, **kwargs):
        services.integrity_check_request(actor=request.user)
        return redirect("evidence:integrity")
