"""Sections that one app adds to another app's record page.

The customer page shows requirements, feedback, complaints and survey scores,
but customers must not import those apps (they depend on customers). Each
app registers a panel in its AppConfig.ready(); the page renders the panels
the user may see, with whatever the panel's loader returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Panel:
    key: str
    template: str  # rendered with `panel` and `items` in its context
    permission: str
    loader: Callable[[Any, Any], Any]  # (record, user) -> items; scopes to what the user may see
    order: int = 500


_panels: dict[str, dict[str, Panel]] = {}


def register(page: str, panel: Panel) -> None:
    _panels.setdefault(page, {})[panel.key] = panel


def panels_for(page: str, obj, user) -> list[dict[str, Any]]:
    """[{"panel", "items"}] for the panels of `page` the user has permission to see."""
    visible = sorted(
        (panel for panel in _panels.get(page, {}).values() if user.has_perm(panel.permission)), key=lambda p: p.order
    )
    return [{"panel": panel, "items": panel.loader(obj, user)} for panel in visible]
