"""Helpers every objectives service shares: the row lock and the checks of actor and text."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.core.exceptions import BusinessRuleViolation
from apps.objectives.models import QualityObjective

Status = QualityObjective.Status


def lock(objective_id: int) -> QualityObjective:
    return QualityObjective.objects.select_for_update().get(pk=objective_id)


def check_manager(actor: User, objective: QualityObjective | None = None) -> None:
    allowed = (
        objective.can_be_changed_by(actor)
        if objective is not None
        else getattr(actor, "is_authenticated", False) and actor.has_perm("objectives.add_qualityobjective")
    )
    if not allowed:
        raise PermissionDenied(_("Only quality managers manage quality objectives."))


def require_text(value: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise BusinessRuleViolation(message)
    return value
