"""Read queries for requirements: lists, a customer's requirements, versions and their diff."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When

from apps.accounts.models import User
from apps.accounts.roles import GROUP_NAMES, Role
from apps.requirements.models import (
    CustomerRequirement,
    RequirementChangeRequest,
    RequirementPriority,
    RequirementReview,
    RequirementVersion,
)

PRIORITY_RANK = {
    RequirementPriority.LOW: 1,
    RequirementPriority.MEDIUM: 2,
    RequirementPriority.HIGH: 3,
    RequirementPriority.CRITICAL: 4,
}
TEXT_FIELDS = ("title", "description", "acceptance_criteria", "source_reference")
VALUE_FIELDS = ("type", "source", "priority", "product", "target_date")


def requirements() -> QuerySet[CustomerRequirement]:
    """All requirements with what a list row shows, newest first; `priority_rank` sorts by urgency."""
    return (
        CustomerRequirement.objects.with_relations()
        .annotate(
            priority_rank=Case(
                *(When(priority=priority, then=Value(rank)) for priority, rank in PRIORITY_RANK.items()),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("-created_at", "-id")
    )


def visible_requirements(user) -> QuerySet[CustomerRequirement]:
    return requirements().visible_to(user)


def for_customer(customer) -> QuerySet[CustomerRequirement]:
    """One customer's requirements (the customer page lists them)."""
    return requirements().filter(customer=customer)


def awaiting_review() -> QuerySet[CustomerRequirement]:
    """The reviewers' queue: requirements in review, longest waiting first."""
    return requirements().awaiting_review().order_by("submitted_at", "id")


def versions_of(requirement: CustomerRequirement) -> list[RequirementVersion]:
    return list(
        RequirementVersion.objects.filter(requirement=requirement)
        .select_related("created_by", "product", "change_request")
        .order_by("number")
    )


def reviews_of(requirement: CustomerRequirement) -> list[RequirementReview]:
    return list(
        RequirementReview.objects.filter(requirement=requirement)
        .select_related("reviewer", "version")
        .order_by("reviewed_at", "id")
    )


def change_requests_of(requirement: CustomerRequirement) -> list[RequirementChangeRequest]:
    return list(
        RequirementChangeRequest.objects.filter(requirement=requirement)
        .select_related("requested_by")
        .prefetch_related(Prefetch("informed_users", queryset=User.objects.order_by("full_name", "id")))
        .order_by("requested_at", "id")
    )


def owner_candidates() -> QuerySet[User]:
    """Active users who may own a requirement: quality managers and staff."""
    return (
        User.objects.active()
        .filter(groups__name__in=[GROUP_NAMES[Role.QUALITY_MANAGER], GROUP_NAMES[Role.STAFF]])
        .distinct()
        .order_by("full_name", "id")
    )


# Diff between two versions ---------------------------------------------------------

# Words and punctuation marks, each with the spaces after it. They are compared without those spaces,
# so a change of spacing alone is no change and a changed phrase reads as one piece.
_TOKENS = re.compile(r"(\w+|[^\w\s])(\s*)")


@dataclass(frozen=True)
class Segment:
    op: str  # "equal", "insert" or "delete"
    text: str


@dataclass
class FieldChange:
    name: str
    label: str
    segments: list[Segment] = field(default_factory=list)  # text fields: the word-level diff
    before: str = ""  # other fields: the values as displayed
    after: str = ""

    @property
    def is_text(self) -> bool:
        return bool(self.segments)


def text_diff(before: str, after: str) -> list[Segment]:
    """Word-level diff of two texts (difflib), merging neighbouring segments of the same kind."""
    old, new = _TOKENS.findall(before or ""), _TOKENS.findall(after or "")
    segments: list[Segment] = []

    def add(op: str, tokens: list[tuple[str, str]]) -> None:
        text = "".join(word + space for word, space in tokens)
        if not text:
            return
        if segments and segments[-1].op == op:
            segments[-1] = Segment(op, segments[-1].text + text)
        else:
            segments.append(Segment(op, text))

    matcher = difflib.SequenceMatcher(None, [w for w, _ in old], [w for w, _ in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("equal", new[j1:j2])
        else:
            add("delete", old[i1:i2])
            add("insert", new[j1:j2])
    return segments


def _display(version: RequirementVersion, name: str) -> str:
    if name == "product":
        return str(version.product) if version.product_id else ""
    if name == "target_date":
        return version.target_date.isoformat() if version.target_date else ""
    return str(getattr(version, f"get_{name}_display")())


def version_diff(older: RequirementVersion, newer: RequirementVersion) -> list[FieldChange]:
    """The fields that differ between two versions, text fields word by word."""
    changes = []
    for name in (*TEXT_FIELDS, *VALUE_FIELDS):
        label = str(RequirementVersion._meta.get_field(name).verbose_name).capitalize()
        attname = RequirementVersion._meta.get_field(name).attname
        if getattr(older, attname) == getattr(newer, attname):
            continue
        if name in TEXT_FIELDS:
            changes.append(FieldChange(name, label, segments=text_diff(getattr(older, name), getattr(newer, name))))
        else:
            changes.append(FieldChange(name, label, before=_display(older, name), after=_display(newer, name)))
    return changes
