"""The main menu, assembled from what each app registers in its AppConfig.ready().

Core knows no domain app: each app adds its own entry with the permission a
user needs to see it, so the menu shows only what the user's role may use.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class Entry:
    label: str
    url_name: str
    permission: str | None = None  # None: every signed-in user
    order: int = 500

    def visible_to(self, user) -> bool:
        return user.is_authenticated and (self.permission is None or user.has_perm(self.permission))

    @property
    def url(self) -> str:
        return reverse(self.url_name)


_entries: dict[str, Entry] = {}


def register(entry: Entry) -> None:
    _entries[entry.url_name] = entry


def entries_for(user) -> list[Entry]:
    return sorted((e for e in _entries.values() if e.visible_to(user)), key=lambda e: (e.order, str(e.label)))
