"""What other apps tell corrective actions about the records that raise them.

The complaints app knows how to count "complaints of the same category and product
before and after an action"; actions must not import complaints (dependencies point
one way), so complaints registers a provider here from its AppConfig.ready():

    from apps.actions import sources
    sources.register_effectiveness("complaints.complaint", provider)

`provider(source_obj, action)` returns {"label": str, "before": int, "after": int,
"window_days": int}; the action page shows it as the effectiveness panel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import models

logger = logging.getLogger(__name__)

EffectivenessProvider = Callable[[Any, Any], dict[str, Any]]

_effectiveness: dict[str, EffectivenessProvider] = {}


def register_effectiveness(model_label: str, provider: EffectivenessProvider) -> None:
    """Register `provider` for sources of model "app_label.modelname" (case-insensitive)."""
    _effectiveness[model_label.lower()] = provider


def effectiveness_provider_for(model_label: str) -> EffectivenessProvider | None:
    return _effectiveness.get(model_label.lower())


def effectiveness_for(action) -> dict[str, Any] | None:
    """The provider's figures for the action's source, or None when there is no source or provider."""
    if action.source_content_type_id is None:
        return None
    content_type = action.source_content_type
    provider = effectiveness_provider_for(f"{content_type.app_label}.{content_type.model}")
    if provider is None:
        return None
    source = action.source
    if source is None:
        return None
    result = provider(source, action)
    if not result:
        return None
    return {
        "label": str(result.get("label", "")),
        "before": int(result.get("before", 0)),
        "after": int(result.get("after", 0)),
        "window_days": int(result.get("window_days", 0)),
    }


def source_url(source: models.Model | None) -> str:
    """The source's own page, when it has one."""
    if source is None or not hasattr(source, "get_absolute_url"):
        return ""
    try:
        return str(source.get_absolute_url())
    except Exception:  # a source whose URL cannot be built must not break the action page
        logger.warning("no URL for action source", exc_info=True)
        return ""
