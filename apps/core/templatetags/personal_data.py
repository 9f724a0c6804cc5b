"""Masking personal data on pages (apps.core.personal_data).

    {% load personal_data %}{% can_see_personal_data as show_personal %}
    {{ contact.email|personal:show_personal }}

The filter masks unless its argument is true, so a template that forgot the tag, or an
include that did not inherit it, shows the mask rather than the data.
"""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from apps.core.personal_data import MASK
from apps.core.personal_data import can_see_personal_data as _can_see

register = template.Library()


@register.simple_tag(takes_context=True)
def can_see_personal_data(context) -> bool:
    request = context.get("request")
    return _can_see(getattr(request, "user", None))


@register.filter
def personal(value, visible=False):
    """`value` for a viewer who may see personal data, the translated mask otherwise."""
    if visible or value in (None, ""):
        return value
    return _(MASK)
