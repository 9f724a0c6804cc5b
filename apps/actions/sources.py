"""What other apps tell corrective actions about the records that raise them.

The complaints app knows how to count "complaints of the same category and product
before and after an action"; actions must not import complaints (dependencies point
one way), so complaints registers a provider here from its AppConfig.ready():

    from apps.actions import sources
    sources.register_effectiveness("complaints.complaint", provider)

`provider(source_obj, action)` returns {"label": str, "before": int, "after": int,
"window_days": int}; the action page shows it as the effectiveness panel.

Who may see an action does not decide who may see its source: staff see every action but only
the complaints assigned to them. `describe`/`describe_many` tell a user about a source only
when the source's own rule lets them see it (its manager's `visible_to(user)`, or its view
permission where the model has no such rule); otherwise only its kind.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

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


@dataclass(frozen=True)
class SourceView:
    """What one user may be told about an action's source. `id`, `label` and `url` are empty
    (and `label` names only the kind of record) when the user may not see the source."""

    visible: bool
    type: str
    id: str | None
    label: str


def _visible_ids(user, content_type: ContentType, ids: set[str]) -> set[str]:
    """Those of `ids` (primary keys of `content_type`'s model, as stored) that `user` may see."""
    model = content_type.model_class()
    if model is None or not ids or user is None or not user.is_authenticated:
        return set()
    visible_to = getattr(model._default_manager, "visible_to", None)
    if visible_to is None:
        return set(ids) if user.has_perm(f"{content_type.app_label}.view_{content_type.model}") else set()
    allowed = visible_to(user)
    if allowed.query.is_empty():
        return set()
    if not allowed.query.has_filters():
        # The rule lets this user see every row (a quality manager, an auditor): no query.
        return set(ids)
    keys = []
    for raw in ids:
        try:
            keys.append(model._meta.pk.to_python(raw))
        except ValidationError:
            continue
    return {str(pk) for pk in allowed.filter(pk__in=keys).values_list("pk", flat=True)}


def _view(action, visible: bool) -> SourceView:
    content_type = action.source_content_type
    kind = f"{content_type.app_label}.{content_type.model}"
    if visible:
        return SourceView(visible=True, type=kind, id=action.source_object_id, label=action.source_label)
    hidden = _("%(kind)s (not visible to you)") % {"kind": capfirst(content_type.name)}
    return SourceView(visible=False, type=kind, id=None, label=hidden)


def describe_many(actions: Iterable, user) -> dict[int, SourceView | None]:
    """Per action id, its source as `user` may see it (None: raised without a source). One query
    per kind of source whose rule filters rows for this user, none where it does not."""
    actions = list(actions)
    wanted: dict[int, set[str]] = defaultdict(set)
    for action in actions:
        if action.source_content_type_id is not None:
            wanted[action.source_content_type_id].add(action.source_object_id)
    visible = {
        type_id: _visible_ids(user, ContentType.objects.get_for_id(type_id), ids) for type_id, ids in wanted.items()
    }
    return {
        action.pk: None
        if action.source_content_type_id is None
        else _view(action, action.source_object_id in visible[action.source_content_type_id])
        for action in actions
    }


def describe(action, user) -> SourceView | None:
    """The action's source as `user` may see it (None: raised without a source)."""
    return describe_many([action], user)[action.pk]
