"""Every named URL pattern of the portal's pages, for tests that must cover all of them."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver


def page_patterns(patterns=None, prefix: str = "", namespace: str | None = None) -> Iterator[tuple[str, URLPattern]]:
    """(namespaced name, pattern) of every page route; the admin site and the API are left out."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from page_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            route = prefix + str(pattern.pattern)
            if route.startswith(("admin/", "api/")) or name in {"schema", "api-docs"}:
                continue
            yield name, pattern
