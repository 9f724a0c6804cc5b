"""What other apps hold about a contact, for erasure and subject-access export.

Surveys, feedback and complaints keep personal data of contacts, but customers must not
import them (they depend on customers). Each app registers, in its AppConfig.ready(), an
eraser that customers' `contact_erase` calls inside its transaction, and an exporter whose
section `contact_export` adds to the subject-access export.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


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
