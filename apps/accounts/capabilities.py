"""Permissions a quality manager may give to one user beyond their role.

Some duties go to named people rather than to a whole role (reviewing
customer requirements, say). Each app registers such a permission in its
AppConfig.ready(); the People page offers them as checkboxes, and
`services.user_set_capabilities` grants them with an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capability:
    permission: str  # "app_label.codename"
    label: str
    # Roles that may hold it individually: auditors never get a capability that writes.
    roles: tuple[str, ...] = ("staff",)


_capabilities: dict[str, Capability] = {}


def register(capability: Capability) -> None:
    _capabilities[capability.permission] = capability


def all_capabilities() -> list[Capability]:
    return sorted(_capabilities.values(), key=lambda c: c.permission)


def get(permission: str) -> Capability:
    return _capabilities[permission]
