"""Read queries for feedback: lists, the triage board, a customer's feedback, links to follow-ups."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse

from apps.accounts.models import User
from apps.accounts.roles import GROUP_NAMES, Role
from apps.core.pagination import KeysetPage, capped_count, paginate
from apps.feedback.models import Feedback, FeedbackCategory


def feedback_list() -> QuerySet[Feedback]:
    """All feedback with what a list row shows, newest first."""
    return Feedback.objects.with_relations().order_by("-created_at", "-id")


def visible_feedback(user) -> QuerySet[Feedback]:
    return feedback_list().visible_to(user)


def for_customer(customer) -> QuerySet[Feedback]:
    return feedback_list().filter(customer=customer)


def for_complaint(complaint) -> QuerySet[Feedback]:
    """The feedback a complaint was converted from (at most one)."""
    return Feedback.objects.filter(complaint=complaint)


# The board's columns page like the lists: a card carries a whole triage form, so a column of
# fifty was a page thousands of pixels long.
TRIAGE_PAGE_SIZE = 10
TRIAGE_ORDERING = ("created_at", "id")  # oldest first: they have waited longest


def triage_column(status: str, *, cursor: str | None, page_size: int = TRIAGE_PAGE_SIZE) -> KeysetPage:
    """One page of a board column (new or triaged), with the column's total (capped, one query)."""
    rows = Feedback.objects.with_relations().select_related("contact").filter(status=status)
    page = paginate(rows, ordering=TRIAGE_ORDERING, page_size=page_size, cursor=cursor)
    page.total = capped_count(rows)
    return page


def active_categories() -> QuerySet[FeedbackCategory]:
    return FeedbackCategory.objects.filter(is_active=True).order_by("name", "id")


def owner_candidates() -> QuerySet[User]:
    """Active quality managers and staff: who may own feedback."""
    return (
        User.objects.active()
        .filter(groups__name__in=[GROUP_NAMES[Role.QUALITY_MANAGER], GROUP_NAMES[Role.STAFF]])
        .distinct()
        .order_by("full_name", "id")
    )


def complaint_link(feedback: Feedback) -> dict | None:
    """{"reference", "url"} of the complaint the feedback became; url empty while complaints has no page."""
    complaint = getattr(feedback, "complaint", None)
    if complaint is None:
        return None
    try:
        url = reverse("complaints:complaint_detail", args=[complaint.pk])
    except NoReverseMatch:
        url = ""
    return {"reference": complaint.reference, "url": url}


def actions_for(feedback: Feedback) -> list:
    """Corrective actions raised from the feedback, newest first (empty while apps.actions is absent)."""
    try:
        from apps.actions.selectors import for_source
    except ImportError:
        return []
    return list(for_source(feedback)[:50])
