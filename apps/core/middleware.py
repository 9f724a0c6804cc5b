"""Requests refused before any view runs."""

from __future__ import annotations

from django.conf import settings

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
