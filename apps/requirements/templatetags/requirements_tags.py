from django import template

from apps.requirements.models import CustomerRequirement, RequirementPriority

register = template.Library()

Status = CustomerRequirement.Status

_STATUS_CLASSES = {
    Status.DRAFT: "text-bg-secondary",
    Status.IN_REVIEW: "text-bg-info",
    Status.ACCEPTED: "text-bg-success",
    Status.REJECTED: "text-bg-danger",
    Status.CHANGE_REQUESTED: "text-bg-warning",
    Status.WITHDRAWN: "text-bg-dark",
}
_PRIORITY_CLASSES = {
    RequirementPriority.LOW: "text-bg-light",
    RequirementPriority.MEDIUM: "text-bg-secondary",
    RequirementPriority.HIGH: "text-bg-warning",
    RequirementPriority.CRITICAL: "text-bg-danger",
}


@register.filter
def status_badge_class(status: str) -> str:
    """Bootstrap badge classes for a requirement status (the text says the status; colour only helps)."""
    return _STATUS_CLASSES.get(status, "text-bg-secondary")


@register.filter
def priority_badge_class(priority: str) -> str:
    return _PRIORITY_CLASSES.get(priority, "text-bg-secondary")
