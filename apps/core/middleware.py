"""Requests refused before any view runs, and the caching rule for answers with personal data."""

from __future__ import annotations

from django.conf import settings

from apps.core.log_filters import SECRET_URL_PARAMETERS
from apps.core.views import request_too_large


class RequestSizeLimitMiddleware:
    """413 for a body announced larger than REQUEST_MAX_BYTES, before anything reads it: the
    attachments' own limits are checked by the forms, but only after the upload is stored."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads an unparsable length as an empty body
        if length > settings.REQUEST_MAX_BYTES:
            return request_too_large(request)
        return self.get_response(request)


class PrivateNoStoreMiddleware:
    """`Cache-Control: private, no-store` on every answer to a signed-in user (pages, API, PDF
    and file downloads) and on every private link page (a route with a token-like parameter,
    the same list the log filter masks): without it a shared proxy or the browser's disk cache
    could keep a complaint, a contact or a report after the person signed out. A response that
    already says no-store keeps its own header. Static files (answered by WhiteNoise before this
    runs) and the public forms seen without an account stay cacheable as they are."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "no-store" in response.get("Cache-Control", ""):
            return response
        # Read after the view: DRF's token authentication sets request.user only inside it.
        user = getattr(request, "user", None)
        match = getattr(request, "resolver_match", None)
        private_link = match is not None and not SECRET_URL_PARAMETERS.isdisjoint(match.kwargs)
        if private_link or (user is not None and user.is_authenticated):
            response["Cache-Control"] = "private, no-store"
        return response
