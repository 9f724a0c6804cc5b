"""The one permission check of the surveys services.

Every service that changes surveys data starts with `require_perm` (the model permission,
for an active signed-in user); campaign services then apply the object rule
`Campaign.can_be_changed_by` through `require_campaign_change` once they hold the row.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from apps.surveys.models import EXPORT_PERMISSION, MANAGE_PERMISSION, TEMPLATE_PERMISSION, Campaign

# What a user is told when the permission is missing, so each duty keeps its own wording.
DENIED_MESSAGES = {
    MANAGE_PERMISSION: _("You may not run survey campaigns."),
    TEMPLATE_PERMISSION: _("Only quality managers edit questionnaires."),
    EXPORT_PERMISSION: _("You may not export survey responses."),
}


def has_perm(user: Any, permission: str) -> bool:
    """True for an active, signed-in user holding `permission` (from a role or a capability)."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.has_perm(permission))


def require_perm(actor: Any, permission: str) -> None:
    """Raise PermissionDenied unless `actor` may use `permission` (see has_perm)."""
    if not has_perm(actor, permission):
        raise PermissionDenied(DENIED_MESSAGES.get(permission, _("You may not do this.")))


def require_campaign_change(actor: Any, campaign: Campaign) -> None:
    """Raise PermissionDenied unless `actor` may change this campaign (Campaign.can_be_changed_by)."""
    require_perm(actor, MANAGE_PERMISSION)
    if not campaign.can_be_changed_by(actor):
        raise PermissionDenied(_("Only the campaign's owner or a quality manager may change this campaign."))
