from __future__ import annotations

from django.db import models

from apps.audit.models import AuditEntry


def history_for(obj: models.Model, *, limit: int = 200) -> list[AuditEntry]:
    """The record's audit entries, newest first (what every record page shows)."""
    return list(AuditEntry.objects.for_object(obj).select_related("actor", "content_type").order_by("-seq")[:limit])


def entries():
    return AuditEntry.objects.select_related("actor", "content_type").order_by("-seq")
