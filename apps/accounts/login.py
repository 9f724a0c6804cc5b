"""One spelling of a sign-in identifier, for the lockout, the sign-in page, the token endpoint
and the account lookup alike.

Without it every spelling of an address (`Staff@…`, `STAFF@…`, the full-width letters of East Asian keyboards, a
trailing space) was a fresh identity to the lockout, each with its own five attempts, while the
lookup still found the one account: online guessing was unlimited (#22 §2).
"""

from __future__ import annotations

import unicodedata

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def login_identifier(value: str | None) -> str:
    """NFKC (full-width and compatibility forms to their plain letters), surrounding space
    dropped, case folded. Stored addresses are kept in this form too (UserManager)."""
    return unicodedata.normalize("NFKC", value or "").strip().casefold()


def axes_username(request: HttpRequest, credentials: dict | None) -> str:
    """AXES_USERNAME_CALLABLE: the identifier axes counts failures against."""
    from django.conf import settings

    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials and credentials.get(field):
        return login_identifier(credentials[field])
    data = getattr(request, "data", None) or request.POST
    # The token endpoint names the field "email"; the sign-in page "username".
    return login_identifier(data.get(field) or data.get("email"))


def lockout_response(request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None):
    """AXES_LOCKOUT_CALLABLE: the API answers in its own JSON error shape, pages with a page."""
    from django.conf import settings

    retry_after = int(settings.AXES_COOLOFF_TIME.total_seconds())
    if request.path.startswith("/api/"):
        # Imported here: the API layer loads the user model, which imports this module.
        from apps.core.api.exceptions import json_error_view

        message = _("Too many failed sign-in attempts for this account from your address. Try again later.")
        response = json_error_view(429, "locked_out", message)(request)
    else:
        response = render(request, settings.AXES_LOCKOUT_TEMPLATE, status=429)
    response["Retry-After"] = str(retry_after)
    return response
