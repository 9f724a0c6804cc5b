"""The tamper-evident audit trail (ISO 9001 7.5)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntryQuerySet(models.QuerySet):
    def for_object(self, obj: models.Model) -> AuditEntryQuerySet:
        return self.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))

    def update(self, **kwargs):
        raise TypeError("Audit entries are append-only.")

    def delete(self):
        raise TypeError("Audit entries are append-only.")


class AuditEntry(models.Model):
    """One link of the hash chain: who did what to which record, and when.

    Append-only: written only by `apps.audit.services.record` through the
    database's audit_append() (migration 0005), which holds a transaction-scoped
    advisory lock so concurrent writers never fork the chain. PostgreSQL refuses
    UPDATE, DELETE and TRUNCATE on this table (trigger in migration 0002). `hash`
    is SHA-256 over the canonical JSON of every stored field and `prev_hash`;
    `changes` never holds personal data in clear, so erasing a person never has
    to touch the chain.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        DELETE = "delete", _("Deleted")
        TRANSITION = "transition", _("Status changed")
        EXPORT = "export", _("Exported")
        LOGIN = "login", _("Signed in")
        LOGOUT = "logout", _("Signed out")
        LOGIN_FAILED = "login_failed", _("Sign-in failed")
        PASSWORD_CHANGE = "password_change", _("Password changed")
        ROLE_CHANGE = "role_change", _("Role changed")
        ERASE = "erase", _("Personal data erased")
        SEND = "send", _("Sent")

    class ActorKind(models.TextChoices):
        USER = "user", _("User")
        PUBLIC = "public", _("Public (no account)")
        SYSTEM = "system", _("System")

    GENESIS_HASH = "0" * 64

    seq = models.BigIntegerField(unique=True, editable=False, help_text=_("Position in the chain, from 1."))
    created_at = models.DateTimeField(editable=False, db_index=True)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        # Users are deactivated, never deleted, while entries point at them.
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(max_length=20, choices=Action.choices, db_index=True)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    object_label = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        permissions = [("view_evidence", "Can view the evidence held for each ISO clause")]
        indexes = [models.Index(fields=["content_type", "object_id", "seq"], name="audit_record_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_seq_positive"),
            models.CheckConstraint(
                condition=(models.Q(actor_kind="user", actor__isnull=False) | ~models.Q(actor_kind="user")),
                name="audit_user_actor_named",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_label}"

    @property
    def actor_display(self) -> str:
        if self.actor_kind == self.ActorKind.USER and self.actor is not None:
            return self.actor.display_name
        return self.get_actor_kind_display()


class AuditBypassError(TypeError):
    """A bulk write on an audited model would change rows without audit entries."""


class AuditedQuerySet(models.QuerySet):
    """QuerySet for audited models: bulk writes are refused.

    Every change to an audited record goes through a service that saves the
    row and calls `apps.audit.services.record()` in the same transaction.
    `QuerySet.update()` and `delete()` would skip that, so they raise; a
    service that must touch many rows loops (locking in primary-key order)
    or uses `unaudited_update()` for fields that are not part of the record
    (counters, caches), where the name makes the choice visible in review.
    """

    def update(self, **kwargs):
        raise AuditBypassError(f"{self.model.__name__}: bulk update() would escape the audit trail; use a service.")

    def delete(self):
        raise AuditBypassError(f"{self.model.__name__}: bulk delete() would escape the audit trail; use a service.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditBypassError(f"{self.model.__name__}: bulk_update() would escape the audit trail; use a service.")

    def unaudited_update(self, **kwargs) -> int:
        return super().update(**kwargs)
