"""Audit entries as people read them: {% readable_entries history as history %}."""

from __future__ import annotations

from django import template

from apps.audit.selectors import readable_changes

register = template.Library()


@register.simple_tag(takes_context=True)
def readable_entries(context, entries):
    request = context.get("request")
    return readable_changes(list(entries), viewer=getattr(request, "user", None))
