from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils.translation import gettext as _

from apps.audit.models import AuditEntry
from apps.core.personal_data import MASK, can_see_personal_data, personal_fields


def history_for(obj: models.Model, *, limit: int = 200) -> list[AuditEntry]:
    """The record's audit entries, newest first (what every record page shows)."""
    return list(AuditEntry.objects.for_object(obj).select_related("actor", "content_type").order_by("-seq")[:limit])


def entries():
    return AuditEntry.objects.select_related("actor", "content_type").order_by("-seq")


@dataclass(frozen=True)
class ReadableChange:
    label: str
    before: Any
    after: Any


def readable_changes(entries: Sequence[AuditEntry], *, viewer: Any) -> Sequence[AuditEntry]:
    """Give each entry `readable_changes`: its field changes with names instead of ids.

    The trail stores foreign keys as ids and never personal data, so names are looked up
    now, as the page is shown: one query per referenced model, however many entries. A
    referenced row that is gone reads "#<id> (deleted)", an erased one "(erased)"; a row
    holding personal data is named only for a viewer who may see personal data, everyone
    else reads its audit label (which by contract holds none).
    """
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    plans = []
    for entry in entries:
        model = entry.content_type.model_class()
        fields = []
        for name, values in (entry.changes or {}).items():
            field = _field(model, name)
            pair = values if isinstance(values, list | tuple) and len(values) == 2 else [None, values]
            # a generic foreign key has no single model to look its id up in
            if field is not None and _points_at_one_model(field):
                target = field.related_model
                for value in pair:
                    if isinstance(value, int | str) and value not in ("", MASK):
                        wanted[target].add(value)
            fields.append((name, field, pair))
        plans.append((entry, fields))

    found = {target: _labels(target, ids, viewer) for target, ids in wanted.items()}

    for entry, fields in plans:
        entry.readable_changes = [
            ReadableChange(
                label=str(field.verbose_name) if field is not None else name,
                before=_value(field, pair[0], found),
                after=_value(field, pair[1], found),
            )
            for name, field, pair in fields
        ]
    return entries


def _field(model: type[models.Model] | None, name: str) -> models.Field | None:
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # a field renamed or removed since the entry was written
        return None
    return field if isinstance(field, models.Field) else None


def _points_at_one_model(field: models.Field) -> bool:
    return bool(field.is_relation and (field.many_to_one or field.one_to_one) and field.related_model is not None)


def _labels(target: type[models.Model], ids: Iterable[Any], viewer: Any) -> dict[str, str]:
    # Colleagues are named to every reader of the trail, as its "Who" column already does;
    # only customers' and the public's personal data is masked.
    visible = target is get_user_model() or can_see_personal_data(viewer) or not personal_fields(target)
    pks = []
    for value in ids:
        try:
            pks.append(target._meta.pk.to_python(value))
        except ValidationError:  # a malformed id stays unresolved
            continue
    labels = {}
    for obj in target._base_manager.filter(pk__in=pks):
        if getattr(obj, "erased_at", None) is not None:
            label = _("%(record)s (erased)") % {"record": _audit_label(obj)}
        elif hasattr(obj, "display_name") and visible:
            label = obj.display_name
        elif visible:
            label = str(obj)
        else:
            label = _audit_label(obj)
        labels[str(obj.pk)] = label
    return labels


def _audit_label(obj: models.Model) -> str:
    if hasattr(obj, "audit_label"):
        return str(obj.audit_label())
    return f"{obj._meta.verbose_name} #{obj.pk}"


def _value(field: models.Field | None, value: Any, found: dict[type[models.Model], dict[str, str]]) -> Any:
    if value is None or field is None:
        return value
    if value == MASK:
        return _(MASK)
    if _points_at_one_model(field) and field.related_model in found:
        gone = _("%(record)s #%(id)s (deleted)") % {"record": field.related_model._meta.verbose_name, "id": value}
        return found[field.related_model].get(str(value), gone)
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    return value
