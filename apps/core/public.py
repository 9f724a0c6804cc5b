"""Protection for the public pages customers use without an account.

Public forms carry a honeypot field that people never see and bots fill in,
and each view limits how often one client address may submit. Both are
cheap first lines; CSRF protection stays on as everywhere.
"""

from __future__ import annotations

from axes.helpers import get_client_ip_address
from django import forms
from django.core.cache import cache
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

HONEYPOT_FIELD = "website"


class HoneypotFormMixin(forms.Form):
    """Adds the honeypot: a text field hidden by CSS (class `hp-field`) and from screen readers."""

    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean_website(self) -> str:
        if self.cleaned_data.get(HONEYPOT_FIELD):
            raise forms.ValidationError(_("This submission looks automated and was not accepted."))
        return ""


def rate_limited(request, *, scope: str, limit: int, window_seconds: int) -> bool:
    """Count one submission for the client address; True when it exceeds `limit` per window.

    A fixed window in the shared cache (Redis), so all web processes count together.
    """
    address = get_client_ip_address(request) or "unknown"
    key = f"ratelimit:{scope}:{address}"
    if cache.add(key, 1, timeout=window_seconds):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window_seconds)
        return False
    return count > limit


def too_many_requests(request):
    return render(request, "429.html", status=429)
