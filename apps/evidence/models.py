"""Records of what auditors ran: integrity verifications (and, next, evidence packs)."""

from __future__ import annotations

from django.conf import settings
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
