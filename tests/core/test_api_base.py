"""STYLE rule 11: every domain API viewset inherits the scoped base and cannot skip the scope."""

from django.urls import URLPattern, URLResolver, get_resolver

from apps.core.api.viewsets import ScopedViewSet

# accounts and audit depend on nothing of ours (DESIGN), so they keep DRF's plain base: both are
# read-only lists that every allowed role sees whole.
FOUNDATION = {"apps.accounts.api.views", "apps.audit.api.views"}


def _viewsets(patterns, seen=None):
    seen = set() if seen is None else seen
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _viewsets(pattern.url_patterns, seen)
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "actions"):
            seen.add(pattern.callback.cls)
    return seen


def test_every_domain_viewset_is_scoped_and_does_not_override_the_scope():
    viewsets = _viewsets(get_resolver().url_patterns)
    domain = {cls for cls in viewsets if cls.__module__ not in FOUNDATION}
    assert len(domain) >= 8
    unscoped = sorted(cls.__qualname__ for cls in domain if not issubclass(cls, ScopedViewSet))
    assert unscoped == []
    overriding = sorted(cls.__qualname__ for cls in domain if "get_queryset" in vars(cls))
    assert overriding == []
