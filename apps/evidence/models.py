"""What auditors run: integrity verifications and evidence packs."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class IntegrityCheck(models.Model):
    """One run of the audit-chain verification against the signed checkpoints.

    Started from the integrity page and run by a worker, which reports progress here. At
    most one runs at a time (partial unique constraint); a run whose worker died is
    marked interrupted by the next request for a check once it has been silent too long.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        INTACT = "intact", _("Intact")
        BROKEN = "broken", _("Broken")
        INTERRUPTED = "interrupted", _("Interrupted")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveBigIntegerField(_("entries to verify"), default=0)
    verified = models.PositiveBigIntegerField(_("entries verified"), default=0)
    checkpoints = models.PositiveIntegerField(_("signed checkpoints checked"), default=0)
    first_bad_seq = models.BigIntegerField(_("first broken entry"), null=True, blank=True)
    problem = models.TextField(_("problem"), blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    heartbeat_at = models.DateTimeField(_("last progress"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("integrity check")
        verbose_name_plural = _("integrity checks")
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status__in=["queued", "running"]),
                name="evidence_one_active_integrity_check",
            )
        ]

    def __str__(self) -> str:
        return f"Integrity check #{self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.verified / self.total)) if self.total else 0

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE


class EvidencePack(models.Model):
    """An auditor's export: what was asked for, then the signed ZIP a worker built.

    A row first, the task enqueued after commit and claimed with a conditional UPDATE, so a
    duplicate delivery builds nothing twice; a build whose worker died is re-queued by the
    sweeper. The file lives under MEDIA_ROOT and is deleted after EVIDENCE_PACK_RETENTION_DAYS.

    `request_key` fingerprints what was asked for (clauses, period, customers, products,
    personal data); one user holds at most one queued, building or ready pack per fingerprint
    (partial unique constraint), so asking twice returns the pack already asked for.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        BUILDING = "building", _("Building")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    # Still coming or still downloadable: an identical request gets this pack back.
    LIVE = (Status.QUEUED, Status.BUILDING, Status.READY)
    # What a worker still has to do: limited per user (EVIDENCE_PACK_MAX_ACTIVE_PER_USER).
    PENDING = (Status.QUEUED, Status.BUILDING)

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    clauses = ArrayField(models.CharField(max_length=20), verbose_name=_("clauses"))
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to (inclusive)"))
    customer_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    product_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    include_personal_data = models.BooleanField(_("personal data included"), default=False)
    # SHA-256 of the request's parameters (services.pack_request_key). Empty on packs requested
    # before it existed, which therefore never match a new request.
    request_key = models.CharField(max_length=64, blank=True, default="", editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(_("SHA-256 of the pack"), max_length=64, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), null=True, blank=True)
    record_count = models.PositiveBigIntegerField(_("records"), default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    heartbeat_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("evidence pack")
        verbose_name_plural = _("evidence packs")
        permissions = [("export_personal_data", "Can include personal data in evidence packs")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")), name="evidence_pack_period_order"
            ),
            models.UniqueConstraint(
                fields=["requested_by", "request_key"],
                condition=models.Q(status__in=["queued", "building", "ready"]) & ~models.Q(request_key=""),
                name="evidence_one_live_pack_per_request",
            ),
        ]

    # Not a column: pack_request sets it on the pack it returns when that pack was asked for
    # before (an identical request), so the page can say so instead of "being built".
    reused = False

    def __str__(self) -> str:
        return f"Evidence pack #{self.pk}"

    def audit_label(self) -> str:
        return f"Evidence pack #{self.pk}"

    @property
    def download_name(self) -> str:
        return f"evidence-pack-{self.pk}-{self.period_start:%Y%m%d}-{self.period_end:%Y%m%d}.zip"
