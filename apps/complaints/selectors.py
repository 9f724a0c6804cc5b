"""Read queries on complaints that other apps and pages need."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.complaints.models import Complaint


def for_customer(customer, user, *, limit: int = 10) -> list[Complaint]:
    """The customer's latest complaints that `user` may see (staff: those assigned to them);
    the customer page links to the filtered list for the rest."""
    return list(
        Complaint.objects.visible_to(user)
        .filter(customer=customer)
        .select_related("category")
        .order_by("-received_at", "-id")[:limit]
    )


def effectiveness(complaint, action) -> dict:
    """Complaints of the same category and product in equal windows before and after the action was raised.

    The window is the time from the action's creation until now (at least one day), so "after"
    is never longer than "before". Used by apps.actions to judge a corrective action's effect.
    """
    if not isinstance(complaint, Complaint):
        return {}
    start = action.created_at
    window = max(timezone.now() - start, timedelta(days=1))
    same = Complaint.objects.filter(category_id=complaint.category_id, product_id=complaint.product_id)
    before = same.filter(received_at__gte=start - window, received_at__lt=start).count()
    after = same.filter(received_at__gte=start, received_at__lt=start + window).exclude(pk=complaint.pk).count()
    label = " / ".join(str(part) for part in (complaint.category, complaint.product) if part) or complaint.reference
    return {"label": label, "before": before, "after": after, "window_days": window.days or 1}


def recent_recurrence_alerts(*, days: int = 90, limit: int = 20) -> list:
    """Recurrence alerts of the last `days` (category + product reaching the configured count)."""
    from apps.complaints.models import RecurrenceAlert

    since = timezone.localdate() - timedelta(days=days)
    return list(
        RecurrenceAlert.objects.filter(window_start__gte=since - timedelta(days=settings.COMPLAINT_RECURRENCE_DAYS))
        .select_related("category", "product")
        .order_by("-created_at")[:limit]
    )
