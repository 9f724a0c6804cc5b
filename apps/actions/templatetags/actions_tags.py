from django import template

register = template.Library()

_STATUS_BADGES = {
    "open": "text-bg-secondary",
    "in_progress": "text-bg-primary",
    "implemented": "text-bg-info",
    "verified_effective": "text-bg-success",
    "not_effective": "text-bg-danger",
}


@register.filter
def action_status_badge(status: str) -> str:
    return _STATUS_BADGES.get(status, "text-bg-light")
