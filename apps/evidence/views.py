from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView

from apps.audit import checkpoints
from apps.core.exceptions import BusinessRuleViolation
from apps.evidence import services
from apps.evidence.forms import PackForm, PeriodForm, default_period
from apps.evidence.models import EvidencePack, IntegrityCheck
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


def packs_visible_to(user):
    """Quality managers see every pack; auditors the packs they asked for."""
    packs = EvidencePack.objects.select_related("requested_by")
    return packs if user.has_perm("evidence.view_evidencepack") else packs.filter(requested_by=user)


class PackListView(PermissionRequiredMixin, FormView):
    """Request an evidence pack and download the ones that are ready."""

    permission_required = PERMISSION
    template_name = "evidence/pack_list.html"
    form_class = PackForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        start, end = default_period()
        return {"start": start, "end": end}

    def get_context_data(self, **kwargs):
        packs = list(packs_visible_to(self.request.user)[:50])
        return {
            **super().get_context_data(**kwargs),
            "packs": packs,
            "refresh_seconds": REFRESH_SECONDS if any(p.status in ("queued", "building") for p in packs) else None,
            "public_key": checkpoints.public_key_b64(),
        }

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            pack = services.pack_request(
                actor=self.request.user,
                clauses=data["clauses"],
                period_start=data["start"],
                period_end=data["end"],
                customer_ids=data["customers"],
                product_ids=[product.pk for product in data["products"]],
                include_personal_data=data.get("include_personal_data", False),
            )
        except BusinessRuleViolation as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        if pack.reused:
            messages.info(
                self.request,
                _("You asked for this evidence pack already: it is pack #%(number)s below.") % {"number": pack.pk},
            )
        else:
            messages.success(self.request, _("The evidence pack is being built; it appears below when ready."))
        return redirect("evidence:pack_list")


class PackDownloadView(PermissionRequiredMixin, View):
    permission_required = PERMISSION

    def get(self, request, pk: int):
        pack = get_object_or_404(packs_visible_to(request.user), pk=pk)
        path = services.pack_path(pack)
        if pack.status != EvidencePack.Status.READY or not pack.file_name or not path.exists():
            raise Http404
        services.pack_downloaded(pack=pack, actor=request.user)
        return FileResponse(path.open("rb"), as_attachment=True, filename=pack.download_name)
