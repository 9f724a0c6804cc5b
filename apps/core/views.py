"""Shared view pieces: error pages (JSON under /api/, HTML elsewhere) and service-backed forms."""

import logging
import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpResponse, HttpResponseServerError
from django.shortcuts import redirect, render
from django.template import loader
from django.utils.translation import gettext as _

from apps.core.api.exceptions import json_error_view
from apps.core.exceptions import (
    BusinessRuleViolation,
    InvalidTransition,
    dependency_errors,
    request_too_large_errors,
)

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30

_MESSAGES = {
    400: ("bad_request", "Bad request."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    500: ("server_error", "Internal server error."),
}


def error_view(status_code: int):
    code, message = _MESSAGES[status_code]
    as_json = json_error_view(status_code, code, message)

    def view(request, exception=None):
        if status_code == 400 and isinstance(exception, request_too_large_errors()):
            return request_too_large(request, exception)
        if status_code == 500 and isinstance(sys.exc_info()[1], dependency_errors()):
            return service_unavailable(request, sys.exc_info()[1])
        if request.path.startswith("/api/"):
            return as_json(request)
        if status_code == 500:
            # No context processors: whatever broke the request may break them too.
            return HttpResponseServerError(loader.render_to_string("500.html"))
        return render(request, f"{status_code}.html", status=status_code)

    return view


def request_too_large(request, exception: Exception | None = None):
    """413: a body over REQUEST_MAX_BYTES, or more form data, fields or files than Django takes."""
    if exception is None:
        limit = settings.REQUEST_MAX_BYTES
    elif isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    else:
        limit = None
    if limit is None:
        message = _("The request has more fields or files than we accept.")
    else:
        message = _("The request is too large: we accept at most %(mb)s MB.") % {"mb": round(limit / 1024 / 1024, 1)}
    if request.path.startswith("/api/"):
        return json_error_view(413, "request_too_large", message)(request)
    return render(request, "413.html", {"message": message}, status=413)


def service_unavailable(request, error: Exception):
    """503 while PostgreSQL, Redis or the broker is down. Rendered without a request context,
    which would need the very database or cache that failed; clients are asked to retry."""
    logger.warning("dependency unavailable", extra={"error": type(error).__name__, "path": request.path})
    if request.path.startswith("/api/"):
        message = _("The service is temporarily unavailable. Please try again in a minute.")
        response = json_error_view(503, "service_unavailable", message)(request)
    else:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


# Forms that call a service ------------------------------------------------------------

SERVICE_ERRORS = (BusinessRuleViolation, InvalidTransition, ValidationError)


def add_service_error(form, error: Exception) -> None:
    """Show an error raised by a service on the form: field errors on their fields, the rest on top."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(error, ValidationError):
        form.add_error(None, error.messages)
    else:
        form.add_error(None, str(error))


class ServiceFormMixin:
    """A FormView whose `perform(form)` calls a service; a refused change re-renders the form with the reason."""

    def perform(self, form):
        raise NotImplementedError

    def success_url_for(self, result) -> str:
        raise NotImplementedError

    def form_valid(self, form):
        try:
            result = self.perform(form)
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        return redirect(self.success_url_for(result))
