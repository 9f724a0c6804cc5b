"""Personal data of customers and the public: who may read it, and what other apps hold.

Reading. Contact names, e-mails and phones, complainants' and feedback submitters' details,
free text from the public and review distribution lists are shown in clear only to users
holding VIEW_PERMISSION (quality managers and staff through their role; an auditor when a
quality manager gave it with a reason). Everyone else reads MASK in their place, the same on
every surface: pages (the `personal` template filter), the API (`MaskedPersonalFields`),
downloads (refused) and evidence packs (apps.evidence.packs masks the same `personal_fields`).
What is personal is declared once, on the model: its encrypted fields plus
`AUDIT_PERSONAL_FIELDS`, the declaration the audit trail already masks.

Erasure and export. Surveys, feedback and complaints keep personal data of contacts, but
customers must not import them (they depend on customers). Each app registers, in its
AppConfig.ready(), an eraser that customers' `contact_erase` calls inside its transaction,
and an exporter whose section `contact_export` adds to the subject-access export.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from apps.core.crypto import encrypted_properties

# One permission for every way of reading personal data (pages, API, downloads, packs): two
# would allow an auditor to take away in a pack what they may not read on screen.
VIEW_PERMISSION = "accounts.view_personal_data"
# The API and evidence packs write this literal (a stable token for scripts); pages show it translated.
MASK = "[personal data]"


def can_see_personal_data(user: Any) -> bool:
    """True for an active, signed-in user holding VIEW_PERMISSION (role or individual grant)."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.has_perm(VIEW_PERMISSION))


def personal_fields(model: Any) -> list[str]:
    """The model's personal fields by attribute name: its encrypted values, then the other
    fields it declares in AUDIT_PERSONAL_FIELDS (ciphertext columns left out)."""
    names = list(encrypted_properties(model))
    for name in getattr(model, "AUDIT_PERSONAL_FIELDS", ()):
        if name not in names and not name.endswith("_ct"):
            names.append(name)
    return names


def masked(value: Any, *, visible: bool) -> Any:
    """`value`, or MASK when it holds something the viewer may not read. An empty value stays
    empty: that a phone number is missing is not personal."""
    if visible or value in (None, ""):
        return value
    return MASK


class MaskedPersonalFields:
    """Mixin for a ModelSerializer: the model's `personal_fields` in the output become MASK
    for a request user without VIEW_PERMISSION (no request in the context: masked too)."""

    def _personal_visible(self) -> bool:
        # Decided once per serializer: a list serializes every row with the same child.
        cached = self.__dict__.get("_personal_visible_cache")
        if cached is None:
            request = self.context.get("request")
            cached = can_see_personal_data(getattr(request, "user", None))
            self.__dict__["_personal_visible_cache"] = cached
        return cached

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self._personal_visible():
            for name in personal_fields(self.Meta.model):
                if name in data:
                    data[name] = masked(data[name], visible=False)
        return data


class Eraser(Protocol):
    def __call__(self, *, contact_id: int, actor: Any) -> None: ...


class Exporter(Protocol):
    def __call__(self, *, contact_id: int) -> dict[str, Any]: ...


_erasers: dict[str, Eraser] = {}
_exporters: dict[str, Exporter] = {}


def _key(callback: Callable) -> str:
    # Keyed by qualified name, so a ready() that runs twice (tests, autoreload) registers once.
    return f"{callback.__module__}.{callback.__qualname__}"


def register_eraser(callback: Eraser) -> Eraser:
    """`callback(*, contact_id, actor)` destroys what its app holds about the contact. It runs in
    the erasing transaction, must be idempotent, and must write its own audit entries."""
    _erasers[_key(callback)] = callback
    return callback


def register_exporter(callback: Exporter) -> Exporter:
    """`callback(*, contact_id)` returns {section name: data} for the subject-access export."""
    _exporters[_key(callback)] = callback
    return callback


def erase(*, contact_id: int, actor: Any) -> None:
    """Run every registered eraser, in registration order."""
    for callback in list(_erasers.values()):
        callback(contact_id=contact_id, actor=actor)


def export(*, contact_id: int) -> dict[str, Any]:
    """The sections every registered exporter adds, merged."""
    sections: dict[str, Any] = {}
    for callback in list(_exporters.values()):
        sections.update(callback(contact_id=contact_id))
    return sections
